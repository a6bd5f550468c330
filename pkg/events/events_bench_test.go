package events

import (
	"encoding/json"
	"testing"
)

// sampleCaptured is the largest event of an order: it carries the settings
// snapshot.
var sampleCaptured = &OrderCaptured{
	CartGUID: "cart-12345678", Product: "widget", PriceCents: 1000, Channel: "web",
	Settings: &Settings{GUID: "guid-12345678", Version: 1001, FeeEnabled: true, FeeCents: 2500, DiscountCents: 1000},
}

// BenchmarkEncode is what a producer does per event: validate, then JSON.
func BenchmarkEncode(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if err := sampleCaptured.Validate(); err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(sampleCaptured); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecode is what a consumer does per message: look up the
// contract, check the version, decode strictly, validate.
func BenchmarkDecode(b *testing.B) {
	payload, err := json.Marshal(sampleCaptured)
	if err != nil {
		b.Fatal(err)
	}
	version := VersionOf(sampleCaptured)
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if _, err := Decode(NameOrderCaptured, version, payload); err != nil {
			b.Fatal(err)
		}
	}
}
