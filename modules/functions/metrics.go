package functions

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the module's Prometheus series (doc.go lists them).
type metrics struct {
	runs          *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	timeouts      *prometheus.CounterVec
	dropped       prometheus.Counter
	runtimeUp     prometheus.Gauge
	runtimeStarts prometheus.Counter
	runtimeRSS    prometheus.Gauge
	isolates      prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "selfdb_function_runs_total", Help: "Function runs by function, trigger and status (success, error, timeout, unavailable).",
		}, []string{"function", "trigger", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "selfdb_function_run_duration_seconds",
			Help:    "Function run duration (as the runtime measured it) by function.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"function"}),
		timeouts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "selfdb_function_timeouts_total", Help: "Function runs stopped at their timeout, by function.",
		}, []string{"function"}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "selfdb_function_runs_unrecorded_total", Help: "Runs not written to selfdb.function_runs (the recorder's queue was full or the database failed).",
		}),
		runtimeUp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "selfdb_functions_runtime_up", Help: "1 while the Deno runtime runs.",
		}),
		runtimeStarts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "selfdb_functions_runtime_starts_total", Help: "Starts of the Deno runtime (the first and every restart).",
		}),
		runtimeRSS: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "selfdb_functions_runtime_rss_bytes", Help: "Resident memory of the Deno runtime process.",
		}),
		isolates: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "selfdb_functions_runtime_isolates", Help: "Function isolates (worker threads) alive in the Deno runtime.",
		}),
	}
	reg.MustRegister(m.runs, m.duration, m.timeouts, m.dropped, m.runtimeUp, m.runtimeStarts, m.runtimeRSS, m.isolates)
	return m
}

// observe counts a finished run.
func (m *metrics) observe(name string, run *Run) {
	m.runs.WithLabelValues(name, run.Trigger, run.Status).Inc()
	m.duration.WithLabelValues(name).Observe(float64(run.DurationMS) / 1000)
	if run.Status == StatusTimeout {
		m.timeouts.WithLabelValues(name).Inc()
	}
}

// forget drops a deleted function's series.
func (m *metrics) forget(name string) {
	m.runs.DeletePartialMatch(prometheus.Labels{"function": name})
	m.duration.DeleteLabelValues(name)
	m.timeouts.DeleteLabelValues(name)
}
