package mem_test

import (
	"testing"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/store/mem"
	"github.com/dmflow/dmflow/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) dmflow.Store { return mem.New(nil) })
}
