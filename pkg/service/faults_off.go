//go:build !faultinject

package service

import (
	"log/slog"

	"eventually/pkg/messaging"
)

// withFaults is the store as it is: production builds inject no faults
// (the fault tests build with the faultinject tag, see faults_inject.go).
func withFaults(store messaging.Store, _ *slog.Logger) messaging.Store { return store }
