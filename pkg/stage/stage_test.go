package stage

import "testing"

func TestParse(t *testing.T) {
	for text, want := range map[string]int{"": Max, "0": 0, "3": 3, "6": 6} {
		if got, err := Parse(text); err != nil || got != want {
			t.Errorf("Parse(%q) = %d, %v; want %d", text, got, err, want)
		}
	}
	for _, bad := range []string{"7", "-1", "two", "1.5"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func TestSolved(t *testing.T) {
	s, err := New(3)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Solved(3) || s.Solved(4) {
		t.Fatalf("stage 3: Solved(3)=%v Solved(4)=%v", s.Solved(3), s.Solved(4))
	}
	if err := s.Set(9); err == nil || s.Get() != 3 {
		t.Fatalf("Set(9) = %v, stage now %d", err, s.Get())
	}
}
