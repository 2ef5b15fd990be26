package postgres_test

import (
	"testing"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/store/storetest"
)

func TestConformance(t *testing.T) {
	testURL(t)
	storetest.Run(t, func(t *testing.T) dmflow.Store { return openTest(t) })
}
