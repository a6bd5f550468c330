package sqlite

// Waiting is how many callers wait for g's next group.
func Waiting(g *Group) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.waiting)
}

// Writing says whether a caller writes a group now.
func Writing(g *Group) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.writing && g.next == nil
}
