package postgres_test

import (
	"context"
	"log"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/store/postgres"
)

// Open a store shared by several replicas, migrating the schema on start,
// and run one worker step.
func ExampleOpen() {
	ctx := context.Background()
	db, err := postgres.Open(ctx, "postgres://dmflow@127.0.0.1:5432/dmflow?sslmode=disable", &postgres.Options{
		Schema:   "dmflow",
		MaxConns: 32,
		Migrate:  true,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	items, err := db.ClaimInbox(ctx, dmflow.Claim{Owner: "replica-1/worker-3", Max: 16, Lease: 30 * time.Second, Now: time.Now()})
	if err != nil {
		log.Fatal(err)
	}
	for _, it := range items {
		log.Printf("process %s from %s", it.Event.Key, it.Event.SessionKey())
	}
}
