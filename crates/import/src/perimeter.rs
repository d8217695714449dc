//! Perimeter's own traces: the header names the episode and the agent; the
//! agent-source events are the agent's view.

use serde_json::Value;

use crate::{ByValue, Session, fill, fill_str};

pub(crate) struct Trace;

impl ByValue for Trace {
    fn value(&mut self, n: u64, v: &Value, s: &mut Session) {
        if v["format"] == "perimeter.trace" {
            fill(&mut s.session_id, &v["episode"]);
            fill(&mut s.model, &v["agent"]);
            let harness = v["harness"].as_str().unwrap_or_default();
            fill_str(&mut s.client_version, Some(harness.trim_start_matches("perimeter ")));
            return;
        }
        if v["source"] != "agent" {
            return;
        }
        // Kinds this version does not know are skipped, like other formats'
        // unknown lines.
        if let Ok(body) = serde_json::from_value::<trace::Body>(v.clone()) {
            s.push(n, body);
        }
    }
}
