package docs

// The architecture picture. The Mermaid source in docs/architecture.md is
// the one description of the services, topics and databases: this test
// checks it against the event catalogue (pkg/events) and draws it as
// docs/architecture.svg, for readers without a Mermaid renderer. After
// changing the Mermaid source, draw the picture again with
//
//	go test ./docs -run TestArchitectureDiagram -update

import (
	"bytes"
	"encoding/xml"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"eventually/pkg/events"
)

var update = flag.Bool("update", false, "draw docs/architecture.svg again from the Mermaid source")

var (
	architectureMD  = filepath.Join(root, "docs", "architecture.md")
	architectureSVG = filepath.Join(root, "docs", "architecture.svg")
)

func TestArchitectureDiagram(t *testing.T) {
	d := parseMermaid(t, architectureMD)
	d.checkAgainst(t, events.Catalog())
	svg := d.svg()
	if *update {
		if err := os.WriteFile(architectureSVG, svg, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	committed, err := os.ReadFile(architectureSVG)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(committed, svg) {
		t.Errorf("docs/architecture.svg is not the picture of the Mermaid source in docs/architecture.md; " +
			"draw it again: go test ./docs -run TestArchitectureDiagram -update")
	}
	// Whatever drew it: every service, database and topic is in the picture.
	texts := map[string]bool{}
	for _, m := range regexp.MustCompile(`<text[^>]*>([^<]*)</text>`).FindAllSubmatch(committed, -1) {
		texts[xmlUnescape(string(m[1]))] = true
	}
	for _, n := range slices.Concat(d.services, d.topics, d.dbNodes()) {
		for _, line := range n.lines {
			if !texts[line] {
				t.Errorf("docs/architecture.svg does not show %q", line)
			}
		}
	}
	if !strings.Contains(readFile(t, architectureMD), "](architecture.svg)") {
		t.Error("docs/architecture.md does not show architecture.svg")
	}
}

// node is a box of the diagram: its Mermaid ID and its lines of text.
type node struct {
	id    string
	lines []string
}

// name is what a service box is called: the first word of its text.
func (n node) name() string { return strings.Fields(n.lines[0])[0] }

type edge struct{ from, label, to string }

// diagram is the Mermaid flowchart of docs/architecture.md: a broker
// subgraph of topics, services each with its database, and edges.
type diagram struct {
	broker    node
	topics    []node
	services  []node
	databases map[string]node // by service ID
	edges     []edge
}

var (
	subgraphRE = regexp.MustCompile(`^subgraph (\w+)\["([^"]+)"\]$`)
	topicRE    = regexp.MustCompile(`^(\w+)\(\[([^\]]+)\]\)$`)
	serviceRE  = regexp.MustCompile(`^(\w+)\["([^"]+)"\] --- (\w+)\[\("([^"]+)"\)\]$`)
	edgeRE     = regexp.MustCompile(`^(\w+) -- ([a-z ]+) --> (\w+)$`)
	dottedRE   = regexp.MustCompile(`^(\w+) -\. ([a-z ]+) \.-> (\w+)$`)
)

// parseMermaid reads the Mermaid block of a markdown file. It knows the
// few kinds of line the architecture diagram uses and fails on any other,
// so that nothing in the source is left out of the picture.
func parseMermaid(t *testing.T, path string) *diagram {
	t.Helper()
	_, block, ok := strings.Cut(readFile(t, path), "```mermaid\n")
	if !ok {
		t.Fatalf("%s has no Mermaid block", path)
	}
	block, _, _ = strings.Cut(block, "```")
	d := &diagram{databases: map[string]node{}}
	split := func(label string) []string { return strings.Split(label, "<br/>") }
	for i, line := range strings.Split(block, "\n") {
		line = strings.TrimSpace(line)
		var m []string
		match := func(re *regexp.Regexp) bool { m = re.FindStringSubmatch(line); return m != nil }
		switch {
		case line == "" || line == "end" || line == "flowchart LR":
		case match(subgraphRE):
			d.broker = node{m[1], split(m[2])}
		case match(topicRE):
			d.topics = append(d.topics, node{m[1], split(m[2])})
		case match(serviceRE):
			d.services = append(d.services, node{m[1], split(m[2])})
			d.databases[m[1]] = node{m[3], split(m[4])}
		case match(edgeRE), match(dottedRE):
			d.edges = append(d.edges, edge{m[1], m[2], m[3]})
		default:
			t.Fatalf("%s: Mermaid line %d: %q is not a kind of line this test draws", path, i+1, line)
		}
	}
	if d.broker.id == "" || len(d.topics) == 0 || len(d.services) == 0 {
		t.Fatalf("%s: the Mermaid block lacks the broker, its topics or the services", path)
	}
	return d
}

func (d *diagram) dbNodes() []node {
	var out []node
	for _, s := range d.services {
		out = append(out, d.databases[s.id])
	}
	return out
}

func (d *diagram) find(nodes []node, id string) (node, bool) {
	i := slices.IndexFunc(nodes, func(n node) bool { return n.id == id })
	if i < 0 {
		return node{}, false
	}
	return nodes[i], true
}

// checkAgainst checks that the diagram says what the catalogue says: each
// event is a topic, published by its producer and consumed by its
// consumers, and nothing else; the service the broker hands every topic
// to consumes every event.
func (d *diagram) checkAgainst(t *testing.T, catalog []events.Contract) {
	t.Helper()
	want := map[edge]bool{}
	topicID := map[string]string{}
	serviceID := map[string]string{}
	for _, s := range d.services {
		serviceID[s.name()] = s.id
	}
	for _, n := range d.topics {
		topicID[n.lines[0]] = n.id
	}
	if topicID["poison"] == "" {
		t.Error("the diagram has no poison topic")
	}
	var everyTopic string
	for _, e := range d.edges {
		if e.from == d.broker.id && e.label == "every topic" {
			everyTopic = e.to
		}
	}
	for _, c := range catalog {
		topic := topicID[c.Name]
		if topic == "" {
			t.Errorf("the diagram has no topic %s", c.Name)
			continue
		}
		want[edge{serviceID[c.Producer], "publishes", topic}] = true
		for _, consumer := range c.Consumers {
			if serviceID[consumer] != everyTopic {
				want[edge{topic, "consumed by", serviceID[consumer]}] = true
			}
		}
		if everyTopic != "" && !slices.ContainsFunc(c.Consumers, func(s string) bool { return serviceID[s] == everyTopic }) {
			t.Errorf("the diagram gives every topic to %s, but it does not consume %s", everyTopic, c.Name)
		}
	}
	for _, e := range d.edges {
		switch {
		case e.from == d.broker.id && e.label == "every topic":
		case want[e]:
			delete(want, e)
		default:
			t.Errorf("the diagram says %s %s %s; the event catalogue does not", e.from, e.label, e.to)
		}
	}
	for e := range want {
		t.Errorf("the diagram lacks %s %s %s, which the event catalogue says", e.from, e.label, e.to)
	}
	if len(topicID) != len(catalog)+1 {
		t.Errorf("the diagram has %d topics; the catalogue has %d events, and there is poison", len(topicID), len(catalog))
	}
}

// The dashboard's colours, one per service.
var colours = map[string]string{"alpha": "#2563eb", "beta": "#059669", "charlie": "#d97706", "overlord": "#7c3aed"}

func colour(service string) string {
	if c, ok := colours[service]; ok {
		return c
	}
	return "#6b7280"
}

// The picture reads left to right: who publishes, the topics on the
// broker, who consumes. A service's database is drawn under its first box.
const (
	width                  = 960
	leftX, middleX, rightX = 20, 350, 740
	boxW, boxH, dbH        = 200, 44, 42
	pillX, pillW, pillH    = 380, 200, 30
	pillTop, pillStep      = 72, 50
	brokerW, brokerTop     = 260, 20
	blockGap               = 22
	font                   = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif"
)

// svg draws the diagram.
func (d *diagram) svg() []byte {
	var body bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&body, format+"\n", args...) }

	pillY := map[string]int{} // topic ID -> centre
	for i, n := range d.topics {
		pillY[n.id] = pillTop + i*pillStep + pillH/2
	}
	brokerBottom := pillTop + len(d.topics)*pillStep
	var publishers, consumers []node
	for _, s := range d.services {
		if slices.ContainsFunc(d.edges, func(e edge) bool { return e.from == s.id && e.label == "publishes" }) {
			publishers = append(publishers, s)
		}
		if slices.ContainsFunc(d.edges, func(e edge) bool { return e.to == s.id }) {
			consumers = append(consumers, s)
		}
	}
	height := brokerBottom + 40

	// The broker and its topics.
	w(`<rect x="%d" y="%d" width="%d" height="%d" rx="10" fill="#f3f4f6" stroke="#9ca3af"/>`,
		middleX, brokerTop, brokerW, brokerBottom-brokerTop)
	w(`<text x="%d" y="%d" text-anchor="middle" font-size="13" font-weight="600" fill="#374151">%s</text>`,
		middleX+brokerW/2, brokerTop+24, esc(strings.Join(d.broker.lines, " ")))
	for _, n := range d.topics {
		y := pillY[n.id]
		w(`<rect x="%d" y="%d" width="%d" height="%d" rx="15" fill="#fff" stroke="#6b7280"/>`, pillX, y-pillH/2, pillW, pillH)
		w(`<text x="%d" y="%d" text-anchor="middle" font-size="14" font-family="ui-monospace, Menlo, Consolas, monospace" fill="#111827">%s</text>`,
			pillX+pillW/2, y+5, esc(n.lines[0]))
	}

	drawn := map[string]bool{} // services whose database is drawn
	boxY := map[string]int{}   // "left/"+ID or "right/"+ID -> centre
	block := func(x, y int, s node) int {
		c := colour(s.name())
		w(`<rect x="%d" y="%d" width="%d" height="%d" rx="6" fill="%s"/>`, x, y, boxW, boxH, c)
		w(`<text x="%d" y="%d" text-anchor="middle" font-size="15" font-weight="700" fill="#fff">%s</text>`, x+boxW/2, y+19, esc(s.lines[0]))
		w(`<text x="%d" y="%d" text-anchor="middle" font-size="12" fill="#fff">%s</text>`, x+boxW/2, y+35, esc(strings.Join(s.lines[1:], " ")))
		if drawn[s.id] {
			return y + boxH
		}
		drawn[s.id] = true
		db := d.databases[s.id]
		top := y + boxH + 8
		w(`<path d="M%d %d a%d 6 0 0 0 %d 0 v%d a%d 6 0 0 1 -%d 0 z" fill="#fff" stroke="%s"/>`,
			x+20, top+6, boxW/2-20, boxW-40, dbH-12, boxW/2-20, boxW-40, c)
		w(`<ellipse cx="%d" cy="%d" rx="%d" ry="6" fill="#fff" stroke="%s"/>`, x+boxW/2, top+6, boxW/2-20, c)
		w(`<text x="%d" y="%d" text-anchor="middle" font-size="12" font-weight="600" fill="#111827">%s</text>`, x+boxW/2, top+24, esc(db.lines[0]))
		w(`<text x="%d" y="%d" text-anchor="middle" font-size="11" fill="#4b5563">%s</text>`, x+boxW/2, top+37, esc(strings.Join(db.lines[1:], " ")))
		return top + dbH
	}
	y := brokerTop
	for _, s := range publishers {
		boxY["left/"+s.id] = y + boxH/2
		y = block(leftX, y, s) + blockGap
	}
	y = brokerTop
	for _, s := range consumers {
		boxY["right/"+s.id] = y + boxH/2
		y = block(rightX, y, s) + blockGap
	}

	// The edges: a curve from the box to the topic, or from the topic to
	// the box, in the colour of the service.
	curve := func(x1, y1, x2, y2 int, c, dash string) {
		w(`<path d="M%d %d C%d %d %d %d %d %d" fill="none" stroke="%s" stroke-width="2"%s marker-end="url(#arrow-%s)"/>`,
			x1, y1, x1+70, y1, x2-70, y2, x2, y2, c, dash, strings.TrimPrefix(c, "#"))
	}
	for _, e := range d.edges {
		switch {
		case e.label == "publishes":
			s, _ := d.find(d.services, e.from)
			curve(leftX+boxW, boxY["left/"+e.from], pillX-2, pillY[e.to], colour(s.name()), "")
		case e.from == d.broker.id:
			s, _ := d.find(d.services, e.to)
			yy := boxY["right/"+e.to]
			w(`<path d="M%d %d H%d" fill="none" stroke="%s" stroke-width="2" stroke-dasharray="6 4" marker-end="url(#arrow-%s)"/>`,
				middleX+brokerW, yy, rightX-2, colour(s.name()), strings.TrimPrefix(colour(s.name()), "#"))
			w(`<text x="%d" y="%d" text-anchor="middle" font-size="12" fill="#4b5563">%s</text>`,
				(middleX+brokerW+rightX)/2, yy+17, esc(e.label))
		default:
			s, _ := d.find(d.services, e.to)
			curve(pillX+pillW, pillY[e.from], rightX-2, boxY["right/"+e.to], colour(s.name()), "")
		}
	}
	w(`<text x="%d" y="%d" text-anchor="middle" font-size="12" fill="#4b5563">publishes →</text>`, (leftX+boxW+pillX)/2, height-12)
	w(`<text x="%d" y="%d" text-anchor="middle" font-size="12" fill="#4b5563">→ consumed by</text>`, (pillX+pillW+rightX)/2, height-12)

	var out bytes.Buffer
	fmt.Fprintf(&out, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="%s">`+"\n",
		width, height, width, height, font)
	out.WriteString("<title>Services, topics and databases of eventually</title>\n")
	out.WriteString("<!-- Drawn from the Mermaid source in architecture.md by docs/diagram_test.go; do not edit. -->\n")
	fmt.Fprintf(&out, `<rect width="%d" height="%d" fill="#fff"/>`+"\n", width, height)
	out.WriteString("<defs>\n")
	for _, c := range sortedColours(d) {
		fmt.Fprintf(&out, `<marker id="arrow-%s" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" fill="%s"/></marker>`+"\n",
			strings.TrimPrefix(c, "#"), c)
	}
	out.WriteString("</defs>\n")
	out.Write(body.Bytes())
	out.WriteString("</svg>\n")
	return out.Bytes()
}

// sortedColours are the colours of the diagram's services, each once.
func sortedColours(d *diagram) []string {
	var out []string
	for _, s := range d.services {
		if c := colour(s.name()); !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func xmlUnescape(s string) string {
	var v struct {
		Text string `xml:",chardata"`
	}
	if err := xml.Unmarshal([]byte("<t>"+s+"</t>"), &v); err != nil {
		return s
	}
	return v.Text
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
