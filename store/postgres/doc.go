// Package postgres is a dmflow.Store on PostgreSQL, for running several
// `dmflow serve` replicas behind a load balancer.
package postgres
