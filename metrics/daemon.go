package metrics

import (
	"sort"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sys/unix"
)

// Daemon holds the metrics of the process as a service: its version,
// whether it takes calls, how its previous run ended and the space left
// where it keeps its data. Its methods are no-ops on a nil *Daemon.
type Daemon struct {
	ready   prometheus.Gauge
	unclean prometheus.Gauge
	fs      *filesystemCollector
}

// NewDaemon builds the daemon metrics for version and registers them on
// reg (nil: not registered). obzvon_ready starts at 0.
func NewDaemon(reg prometheus.Registerer, version string) *Daemon {
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace,
		Name:      "build_info",
		Help:      "Always 1; the version label is the running obzvon's version.",
	}, []string{"version"})
	info.WithLabelValues(version).Set(1)
	d := &Daemon{
		ready: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace,
			Name:      "ready",
			Help:      "1 while the appliance accepts new calls, 0 while it starts or drains (as /readyz).",
		}),
		unclean: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace,
			Name:      "start_unclean",
			Help:      "1 when the previous run did not stop cleanly (crash, kill -9, watchdog timeout).",
		}),
		fs: &filesystemCollector{
			avail: prometheus.NewDesc(prometheus.BuildFQName(namespace, "data_filesystem", "avail_bytes"),
				"Space available to the daemon on the file system holding its data directory.", nil, nil),
			size: prometheus.NewDesc(prometheus.BuildFQName(namespace, "data_filesystem", "size_bytes"),
				"Size of the file system holding the data directory.", nil, nil),
		},
	}
	if reg != nil {
		reg.MustRegister(info, d.ready, d.unclean, d.fs)
	}
	return d
}

// SetReady sets obzvon_ready.
func (d *Daemon) SetReady(ready bool) {
	if d != nil {
		d.ready.Set(b2f(ready))
	}
}

// SetStartUnclean sets obzvon_start_unclean.
func (d *Daemon) SetStartUnclean(unclean bool) {
	if d != nil {
		d.unclean.Set(b2f(unclean))
	}
}

// WatchFilesystem makes the file system holding dir the source of
// obzvon_data_filesystem_{avail,size}_bytes, read with statfs(2) at each
// scrape. A dir that cannot be read leaves both out of the scrape.
func (d *Daemon) WatchFilesystem(dir string) {
	if d != nil {
		d.fs.dir.Store(&dir)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

type filesystemCollector struct {
	dir         atomic.Pointer[string]
	avail, size *prometheus.Desc
}

// Describe implements prometheus.Collector.
func (c *filesystemCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.avail
	ch <- c.size
}

// Collect implements prometheus.Collector.
func (c *filesystemCollector) Collect(ch chan<- prometheus.Metric) {
	dir := c.dir.Load()
	if dir == nil {
		return
	}
	var st unix.Statfs_t
	if err := unix.Statfs(*dir, &st); err != nil {
		return
	}
	bs := float64(st.Bsize)
	ch <- prometheus.MustNewConstMetric(c.avail, prometheus.GaugeValue, float64(st.Bavail)*bs)
	ch <- prometheus.MustNewConstMetric(c.size, prometheus.GaugeValue, float64(st.Blocks)*bs)
}

// Names returns the names of every metric family the daemon exports,
// sorted: those of New and NewDaemon with every source registered, plus
// the Go runtime and process collectors. Dashboards and alert rules are
// checked against it.
func Names() []string {
	reg := NewRegistry()
	m := New(reg)
	m.RegisterMediaCounters(func() MediaCounters { return MediaCounters{} })
	m.RegisterForwardDelay(func(b []time.Duration) ([]uint64, uint64, time.Duration) { return make([]uint64, len(b)), 0, 0 })
	m.RegisterJournal(func() JournalStats { return JournalStats{} })
	m.SIPResponse(200) // a vector shows only once it has a series
	d := NewDaemon(reg, "names")
	d.WatchFilesystem("/")
	mfs, err := reg.Gather()
	if err != nil {
		panic("metrics: gather: " + err.Error())
	}
	var names []string
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	sort.Strings(names)
	return names
}
