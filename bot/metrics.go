package bot

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the bot's Prometheus collectors, on a registry of its own.
type metrics struct {
	reg                  *prometheus.Registry
	webhooks             *prometheus.CounterVec
	ingested, duplicates prometheus.Counter
	invalid              prometheus.Counter
	failed, timers       prometheus.Counter
	heartbeatsLate       prometheus.Counter
	processing, endToEnd prometheus.Histogram
	deliveries, actions  *prometheus.CounterVec
	reloads, leaseLost   *prometheus.CounterVec
	accountEvents        *prometheus.CounterVec // account, result
	accountDeliveries    *prometheus.CounterVec // account, queue, result
	accountReloads       *prometheus.CounterVec // account, result
	tokenExpiry          *prometheus.GaugeVec
	tokenRefreshFailed   *prometheus.CounterVec
	personal             *personalMetrics
	experiments          *prometheus.CounterVec
	funnel               *prometheus.CounterVec
}

func newMetrics(b *Bot) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	f := factory{m.reg}
	m.webhooks = f.counterVec("dmflow_webhooks_total", "Webhook requests by result (received, rejected) and status code.", "result", "code")
	m.ingested = f.counter("dmflow_events_ingested_total", "Events stored in the inbox.")
	m.duplicates = f.counter("dmflow_events_duplicate_total", "Redelivered events dropped by key.")
	m.invalid = f.counter("dmflow_events_invalid_total", "Events of a delivered batch that could not be stored (no account or user, a NUL byte): dropped and logged; the rest of the batch is stored.")
	m.failed = f.counter("dmflow_events_failed_total", "Events the engine failed on (see /admin/failed).")
	m.timers = f.counter("dmflow_timers_fired_total", "Timers moved into the inbox.")
	m.heartbeatsLate = f.counter("dmflow_heartbeats_late_total", "Heartbeats (shared stores) that came after the heartbeat TTL, when other replicas may have taken this replica's users over.")
	m.processing = f.histogram("dmflow_processing_seconds", "Time to load, step and commit one event.",
		prometheus.ExponentialBuckets(0.0005, 2, 14))
	m.endToEnd = f.histogram("dmflow_end_to_end_seconds", "From event received to its reply accepted by the platform.",
		prometheus.ExponentialBuckets(0.005, 2, 14))
	m.deliveries = f.counterVec("dmflow_deliveries_total", "Outbox deliveries by queue (dm, notices) and result (ok, retried, dead).", "queue", "result")
	m.leaseLost = f.counterVec("dmflow_outbox_leases_lost_total", "Users whose outbox lease was lost (expired or taken over) while this process delivered their items, by queue; their remaining items were left to the next claim.", "queue")
	m.actions = f.counterVec("dmflow_actions_total", "Action calls by outcome.", "outcome")
	m.reloads = f.counterVec("dmflow_engine_reloads_total", "Engine reloads by result.", "result")
	m.accountEvents = f.counterVec("dmflow_account_events_total", "Events processed per business account by result (ok, failed).", "account", "result")
	m.accountDeliveries = f.counterVec("dmflow_account_deliveries_total", "Outbox deliveries per business account by queue (dm, notices) and result (ok, retried, dead).", "account", "queue", "result")
	m.accountReloads = f.counterVec("dmflow_account_reloads_total", "Flow bundle reloads per account (default: the default bundle) by result; a failed account keeps its old bundle.", "account", "result")
	m.tokenExpiry = f.gaugeVec("dmflow_token_expiry_timestamp_seconds", "When each account's access token expires (Unix time).", "account")
	m.tokenRefreshFailed = f.counterVec("dmflow_token_refresh_failures_total", "Failed refreshes of an account's access token; alert on any increase (the token stops working at its expiry).", "account")
	m.personal = newPersonalMetrics(f)
	m.funnel = f.counterVec("dmflow_funnel_total", "Funnel counters of committed turns: states entered, transitions (edges) taken, handoffs, failed asks, drop-offs. Names come from the flow files, so the labels are bounded.", "kind", "flow", "name")
	m.experiments = f.counterVec("dmflow_experiment_assignments_total", "Users assigned a variant of an A/B experiment by a flow's split (committed turns). Labels come from the flow files, so they are bounded.", "experiment", "variant")
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.reg.MustRegister(depthGauge("dmflow_inbox_depth", "Inbox items not done yet.", func(ctx context.Context) (int, error) {
		return b.store.InboxDepth(ctx)
	}))
	for _, q := range []string{dmflow.QueueDM, dmflow.QueueNotices} {
		m.reg.MustRegister(depthGauge("dmflow_outbox_depth_"+q, "Outbox items pending in queue "+q+".", func(ctx context.Context) (int, error) {
			return b.store.OutboxDepth(ctx, q)
		}))
	}
	return m
}

type factory struct{ reg *prometheus.Registry }

func (f factory) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	f.reg.MustRegister(c)
	return c
}

func (f factory) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	f.reg.MustRegister(c)
	return c
}

func (f factory) gaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
	f.reg.MustRegister(g)
	return g
}

func (f factory) histogram(name, help string, buckets []float64) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets})
	f.reg.MustRegister(h)
	return h
}

// depthGauge asks the store at scrape time (-1 when the store fails).
func depthGauge(name, help string, depth func(context.Context) (int, error)) prometheus.GaugeFunc {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := depth(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	})
}

// Metrics returns the bot's Prometheus registry (not the global default).
func (b *Bot) Metrics() *prometheus.Registry { return b.metrics.reg }

// MetricsHandler serves the registry in the Prometheus text format.
func (b *Bot) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(b.metrics.reg, promhttp.HandlerOpts{Registry: b.metrics.reg})
}

// ObserveWebhook counts one webhook request by its response status: 2xx
// counts as received, anything else as rejected.
func (b *Bot) ObserveWebhook(status int) {
	result := "received"
	if status/100 != 2 {
		result = "rejected"
	}
	b.metrics.webhooks.WithLabelValues(result, strconv.Itoa(status)).Inc()
}

// CountWebhooks wraps the adapter's webhook handler so every request is
// counted with ObserveWebhook.
func (b *Bot) CountWebhooks(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		b.ObserveWebhook(sw.status)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// SetTokenExpiry publishes when an account's access token expires; the
// token refresher calls it after each refresh.
func (b *Bot) SetTokenExpiry(account string, expires time.Time) {
	b.metrics.tokenExpiry.WithLabelValues(account).Set(float64(expires.Unix()))
}

// TokenRefreshFailed counts a failed token refresh for account, so that an
// alert can fire well before the token expires.
func (b *Bot) TokenRefreshFailed(account string) {
	b.metrics.tokenRefreshFailed.WithLabelValues(account).Inc()
}

// countAssignments counts the A/B variants a committed turn assigned: the
// experiments whose variant the session before did not have.
func (m *metrics) countAssignments(before, after *dmflow.Session) {
	if after == nil || len(after.Variants) == 0 {
		return
	}
	for exp, v := range after.Variants {
		if before == nil || before.Variants[exp] != v {
			m.experiments.WithLabelValues(exp, v).Inc()
		}
	}
}

// countFunnel adds a committed turn's funnel counters.
func (m *metrics) countFunnel(cs []dmflow.Count) {
	for _, c := range cs {
		m.funnel.WithLabelValues(c.Kind, c.Flow, c.Name).Inc()
	}
}
