package systemtest

import (
	"bytes"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Metrics reads a running service's /metrics and parses it as the
// Prometheus text format; a page that does not parse fails the test.
func (s *System) Metrics(name string) map[string]*dto.MetricFamily {
	s.t.Helper()
	r := Must(s.t, Call(s.t, "GET", s.URL(name)+"/metrics", nil), 200)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(r.Body))
	if err != nil {
		s.t.Fatalf("%s /metrics is not Prometheus text: %v", name, err)
	}
	return families
}

// MetricValue is the value of the series of a metric family whose labels
// include the given name/value pairs, summed over the series that match;
// found says whether any did.
func MetricValue(families map[string]*dto.MetricFamily, name string, labels ...string) (value float64, found bool) {
	fam := families[name]
	if fam == nil {
		return 0, false
	}
	for _, m := range fam.GetMetric() {
		if !hasLabels(m, labels) {
			continue
		}
		found = true
		switch {
		case m.GetGauge() != nil:
			value += m.GetGauge().GetValue()
		case m.GetCounter() != nil:
			value += m.GetCounter().GetValue()
		case m.GetHistogram() != nil:
			value += float64(m.GetHistogram().GetSampleCount())
		case m.GetUntyped() != nil:
			value += m.GetUntyped().GetValue()
		}
	}
	return value, found
}

func hasLabels(m *dto.Metric, pairs []string) bool {
	for i := 0; i+1 < len(pairs); i += 2 {
		ok := false
		for _, l := range m.GetLabel() {
			if l.GetName() == pairs[i] && l.GetValue() == pairs[i+1] {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}
