// Package docs holds the project's documentation. Its test checks that
// the documentation points at things that exist: every relative link in
// README.md and docs/ resolves to a file or a heading, and every
// "// Issue N:" spot the docs name is in that file.
package docs

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// root is the repository root, seen from this package's directory.
const root = ".."

// markdownFiles are README.md and every .md file under docs/.
func markdownFiles(t *testing.T) []string {
	t.Helper()
	files := []string{filepath.Join(root, "README.md")}
	err := filepath.WalkDir(filepath.Join(root, "docs"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".md") {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// prose is a markdown file's text outside fenced code blocks, line by line.
func prose(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	fence := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case fence == "" && (strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~")):
			fence = trimmed[:3]
		case fence != "" && strings.HasPrefix(trimmed, fence):
			fence = ""
		case fence == "":
			lines = append(lines, line)
		default:
			lines = append(lines, "") // keep line numbers
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

var (
	// [text](target) and ![alt](target); the target ends at a space (a
	// title may follow) or the closing parenthesis.
	linkRE       = regexp.MustCompile(`!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)`)
	inlineCodeRE = regexp.MustCompile("`[^`]*`")
	headingRE    = regexp.MustCompile(`^#{1,6}\s+(.*?)\s*#*\s*$`)
	// "`services/beta/beta.go` — `// Issue 2:`": a spot a presenter opens.
	spotRE = regexp.MustCompile("`([^`\\s]+)` — `// Issue ([0-9]):`")
	// A link inside a heading counts by its text.
	headingLinkRE = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
	issuePageRE   = regexp.MustCompile(`issues[/\\]([0-9])-[^/\\]*\.md$`)
)

// anchor is GitHub's anchor for a heading: lower case, punctuation
// dropped, spaces turned into hyphens.
func anchor(heading string) string {
	heading = headingLinkRE.ReplaceAllString(heading, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteRune('-')
		}
	}
	return b.String()
}

// anchors are the heading anchors of a markdown file, with GitHub's
// suffixes for repeated headings ("-1", "-2", ...).
func anchors(t *testing.T, path string) map[string]bool {
	t.Helper()
	seen := map[string]int{}
	out := map[string]bool{}
	for _, line := range prose(t, path) {
		m := headingRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		a := anchor(m[1])
		if n := seen[a]; n > 0 {
			out[fmt.Sprintf("%s-%d", a, n)] = true
		} else {
			out[a] = true
		}
		seen[a]++
	}
	return out
}

func TestAnchor(t *testing.T) {
	for heading, want := range map[string]string{
		"Where the design differs":           "where-the-design-differs",
		"`order.captured` v2 adds `channel`": "ordercaptured-v2-adds-channel",
		"1. Change events (10 min)":          "1-change-events-10-min",
		"Poison queue & retries":             "poison-queue--retries",
		"See [the design](../x.md) now":      "see-the-design-now",
		"snake_case stays":                   "snake_case-stays",
	} {
		if got := anchor(heading); got != want {
			t.Errorf("anchor(%q) = %q, want %q", heading, got, want)
		}
	}
}

// TestLinksResolve checks every relative link of README.md and docs/.
func TestLinksResolve(t *testing.T) {
	cache := map[string]map[string]bool{}
	headings := func(path string) map[string]bool {
		if _, ok := cache[path]; !ok {
			cache[path] = anchors(t, path)
		}
		return cache[path]
	}
	links := 0
	for _, file := range markdownFiles(t) {
		for i, line := range prose(t, file) {
			for _, m := range linkRE.FindAllStringSubmatch(inlineCodeRE.ReplaceAllString(line, ""), -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				links++
				where := fmt.Sprintf("%s:%d: link %q", file, i+1, target)
				path, frag, _ := strings.Cut(target, "#")
				resolved := file
				if path != "" {
					resolved = filepath.Join(filepath.Dir(file), filepath.FromSlash(path))
					if _, err := os.Stat(resolved); err != nil {
						t.Errorf("%s: no such file %s", where, resolved)
						continue
					}
				}
				if frag == "" {
					continue
				}
				if !strings.HasSuffix(resolved, ".md") {
					t.Errorf("%s: a #fragment on a file that is not markdown", where)
					continue
				}
				if !headings(resolved)[frag] {
					t.Errorf("%s: %s has no heading #%s", where, resolved, frag)
				}
			}
		}
	}
	if links == 0 {
		t.Fatal("found no links at all: the link pattern is broken")
	}
}

// TestIssueSpotsExist checks that every "`file` — `// Issue N:`" named in
// the docs is a file holding that comment, and that each issue's page
// names at least one spot of its own issue.
func TestIssueSpotsExist(t *testing.T) {
	ownSpots := map[string]int{} // docs/issues page -> spots of its issue
	for _, file := range markdownFiles(t) {
		issuePage := issuePageRE.FindStringSubmatch(file)
		for i, line := range prose(t, file) {
			for _, m := range spotRE.FindAllStringSubmatch(line, -1) {
				path, issue := m[1], m[2]
				code, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(path)))
				if err != nil {
					t.Errorf("%s:%d: spot %s: %v", file, i+1, path, err)
					continue
				}
				if !strings.Contains(string(code), "// Issue "+issue+":") {
					t.Errorf("%s:%d: %s has no `// Issue %s:` comment", file, i+1, path, issue)
				}
				if issuePage != nil && issuePage[1] == issue {
					ownSpots[file]++
				}
			}
		}
		if issuePage != nil && ownSpots[file] == 0 {
			t.Errorf("%s names no `// Issue %s:` spot to open", file, issuePage[1])
		}
	}
}

// TestIssuePagesExist checks that there is one page per issue of the talk.
func TestIssuePagesExist(t *testing.T) {
	for n := 1; n <= 5; n++ {
		matches, err := filepath.Glob(filepath.Join(root, "docs", "issues", fmt.Sprintf("%d-*.md", n)))
		if err != nil {
			t.Fatal(err)
		}
		if len(matches) != 1 {
			t.Errorf("docs/issues: want one page for issue %d, found %v", n, matches)
		}
	}
}
