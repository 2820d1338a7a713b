//! Counters for `/metrics` (Prometheus text format) and `agent.status`.
//!
//! A mutex-guarded map rather than atomics: 32-bit MIPS has no 64-bit atomics, and the
//! counters are touched a few times per event, far below contention.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Named counters; a series name may carry labels: `x_total{driver="goip/gw1"}`.
#[derive(Debug, Default, Clone)]
pub struct Metrics {
    counters: Arc<Mutex<BTreeMap<String, u64>>>,
    gauges: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl Metrics {
    pub fn add(&self, series: &str, n: u64) {
        let mut map = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        match map.get_mut(series) {
            Some(v) => *v += n,
            None => {
                map.insert(series.to_string(), n);
            }
        }
    }

    pub fn inc(&self, series: &str) {
        self.add(series, 1);
    }

    pub fn get(&self, series: &str) -> u64 {
        self.counters.lock().unwrap_or_else(|e| e.into_inner()).get(series).copied().unwrap_or(0)
    }

    /// Sets a gauge (a value that goes up and down: `telbridge_tunnel_up{…}`).
    pub fn set(&self, series: &str, v: u64) {
        self.gauges.lock().unwrap_or_else(|e| e.into_inner()).insert(series.to_string(), v);
    }

    /// Every gauge set with [`Metrics::set`], by series name.
    pub fn gauges(&self) -> BTreeMap<String, u64> {
        self.gauges.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Every counter, by series name.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.counters.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Renders counters and gauges in the Prometheus text exposition format.
pub fn render(counters: &BTreeMap<String, u64>, gauges: &[(&str, u64)], labelled: &BTreeMap<String, u64>) -> String {
    let mut out = String::new();
    series(&mut out, "counter", counters);
    for (name, value) in gauges {
        out.push_str(&format!("# TYPE {name} gauge\n{name} {value}\n"));
    }
    series(&mut out, "gauge", labelled);
    out
}

/// Series that may carry labels, one `# TYPE` line per name.
fn series(out: &mut String, kind: &str, all: &BTreeMap<String, u64>) {
    let mut typed = std::collections::BTreeSet::new();
    for (series, value) in all {
        let name = series.split('{').next().unwrap_or(series);
        if typed.insert(name.to_string()) {
            out.push_str(&format!("# TYPE {name} {kind}\n"));
        }
        out.push_str(&format!("{series} {value}\n"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_render_as_prometheus_text_with_one_type_line_per_name() {
        let m = Metrics::default();
        m.inc("telbridge_driver_errors_total{driver=\"a\"}");
        m.add("telbridge_driver_errors_total{driver=\"b\"}", 2);
        m.inc("telbridge_events_in_total");
        let text = render(&m.snapshot(), &[("telbridge_store_rows", 5)], &m.gauges());
        assert_eq!(
            text,
            "# TYPE telbridge_driver_errors_total counter\n\
             telbridge_driver_errors_total{driver=\"a\"} 1\n\
             telbridge_driver_errors_total{driver=\"b\"} 2\n\
             # TYPE telbridge_events_in_total counter\n\
             telbridge_events_in_total 1\n\
             # TYPE telbridge_store_rows gauge\n\
             telbridge_store_rows 5\n"
        );
    }
}
