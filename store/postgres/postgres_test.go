package postgres_test

import (
	"testing"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/internal/pgtest"
	"github.com/dmflow/dmflow/store/storetest"
)

func TestConformance(t *testing.T) {
	pgtest.URL(t)
	storetest.Run(t, func(t *testing.T) dmflow.Store { return openTest(t) })
}
