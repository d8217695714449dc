//! Successive change sets of the home, read after each tool call, turned
//! into `file_change` events: what changed since the last look.

use std::collections::{BTreeMap, BTreeSet};

use sandbox::{ChangeSet, FileChange, FileType, PathState};
use trace::{Body, FileChangeKind, FileMeta, UnreadPath};

/// How a path's state moved between two looks.
pub(crate) fn change_kind(was: Option<&PathState>, is: Option<&PathState>) -> FileChangeKind {
    match (was, is) {
        (None, _) => FileChangeKind::Created,
        (_, None) => FileChangeKind::Deleted,
        (Some(a), Some(b)) if a.kind != b.kind => FileChangeKind::Replaced,
        (Some(a), Some(b)) if a.content != b.content => FileChangeKind::Modified,
        (Some(a), Some(b)) if a != b => FileChangeKind::Metadata,
        _ => FileChangeKind::Rewritten,
    }
}

pub(crate) fn type_name(kind: FileType) -> &'static str {
    match kind {
        FileType::File => "file",
        FileType::Dir => "dir",
        FileType::Symlink => "symlink",
        FileType::Fifo => "fifo",
        FileType::Socket => "socket",
        FileType::CharDevice => "char_device",
        FileType::BlockDevice => "block_device",
    }
}

fn meta(s: &PathState) -> FileMeta {
    FileMeta {
        kind: type_name(s.kind).into(),
        mode: format!("{:04o}", s.mode),
        owner: format!("{}:{}", s.uid, s.gid),
        xattrs: s.xattrs.clone(),
    }
}

fn event(path: &str, was: Option<&PathState>, is: Option<&PathState>) -> Body {
    Body::FileChange {
        path: path.to_owned(),
        change: change_kind(was, is),
        before: was.and_then(|s| s.content.clone()),
        after: is.and_then(|s| s.content.clone()),
        before_meta: was.map(meta),
        after_meta: is.map(meta),
    }
}

/// What the last look saw, to report only what is new.
pub(crate) struct Tracker {
    /// The state the harness's setup left each path it changed in.
    baseline: BTreeMap<String, Option<PathState>>,
    seen: BTreeMap<String, FileChange>,
    unread: BTreeSet<String>,
    aliases: BTreeSet<(String, String)>,
    /// Honeypot ids by path.
    honeypots: BTreeMap<String, String>,
}

impl Tracker {
    /// Starts from the change set after the harness's own setup, which is
    /// not the agent's.
    pub fn new(baseline: ChangeSet, honeypots: BTreeMap<String, String>) -> Tracker {
        let set_up = baseline.changes.iter().map(|c| (c.path.clone(), c.after.clone())).collect();
        let seen = baseline.changes.into_iter().map(|c| (c.path.clone(), c)).collect();
        let unread = baseline.errors.into_iter().map(|(p, _)| p).collect();
        let aliases = baseline.aliases.into_iter().collect();
        Tracker { baseline: set_up, seen, unread, aliases, honeypots }
    }

    /// The state the harness's setup left `path` in, if the setup changed
    /// it (`Some(None)`: the setup removed it).
    pub fn baseline(&self, path: &str) -> Option<&Option<PathState>> {
        self.baseline.get(path)
    }

    /// Every path the harness's setup changed, and the state it left.
    pub fn baseline_paths(&self) -> impl Iterator<Item = (&String, &Option<PathState>)> {
        self.baseline.iter()
    }

    /// The events for what changed since the last look: file changes in
    /// path order, new names of honeypots, then the parts of the change set
    /// newly unreadable.
    pub fn update(&mut self, now: ChangeSet) -> Vec<Body> {
        let mut out = Vec::new();
        let mut current: BTreeMap<String, FileChange> = BTreeMap::new();
        for c in now.changes {
            match self.seen.get(&c.path) {
                None => out.push(event(&c.path, c.before.as_ref(), c.after.as_ref())),
                Some(prev) if prev.after != c.after => {
                    out.push(event(&c.path, prev.after.as_ref(), c.after.as_ref()))
                }
                Some(_) => {}
            }
            current.insert(c.path.clone(), c);
        }
        // A path no longer in the change set is as it started again.
        for (path, prev) in &self.seen {
            if !current.contains_key(path) && prev.after != prev.before {
                out.push(event(path, prev.after.as_ref(), prev.before.as_ref()));
            }
        }
        out.sort_by(|a, b| match (a, b) {
            (Body::FileChange { path: x, .. }, Body::FileChange { path: y, .. }) => x.cmp(y),
            _ => std::cmp::Ordering::Equal,
        });
        self.seen = current;
        for (path, alias) in now.aliases {
            if self.aliases.insert((path.clone(), alias.clone())) {
                let honeypot = self.honeypots.get(&path).cloned().unwrap_or_default();
                out.push(Body::HoneypotAlias { path, honeypot, alias });
            }
        }
        let unread: Vec<UnreadPath> = now
            .errors
            .into_iter()
            .filter(|(path, _)| self.unread.insert(path.clone()))
            .map(|(path, error)| UnreadPath { path, error })
            .collect();
        if !unread.is_empty() || now.more_errors > 0 {
            out.push(Body::ChangeSetIncomplete { unread, more: now.more_errors });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(content: &str, mode: u32) -> Option<PathState> {
        Some(PathState {
            kind: FileType::File,
            content: Some(content.into()),
            mode,
            uid: 0,
            gid: 0,
            xattrs: None,
        })
    }

    fn set(changes: Vec<(&str, Option<PathState>, Option<PathState>)>) -> ChangeSet {
        ChangeSet {
            changes: changes
                .into_iter()
                .map(|(p, before, after)| FileChange { path: p.into(), before, after })
                .collect(),
            ..ChangeSet::default()
        }
    }

    fn kinds(events: &[Body]) -> Vec<(String, FileChangeKind)> {
        events
            .iter()
            .filter_map(|e| match e {
                Body::FileChange { path, change, .. } => Some((path.clone(), *change)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn each_look_reports_what_moved_since_the_last() {
        let mut t = Tracker::new(ChangeSet::default(), BTreeMap::new());
        let fifo =
            Some(PathState { kind: FileType::Fifo, content: None, ..file("", 0o644).unwrap() });
        let events = t.update(set(vec![
            ("a", file("x", 0o644), file("y", 0o644)),
            ("b", file("x", 0o644), file("x", 0o000)),
            ("c", file("x", 0o644), file("x", 0o644)),
            ("d", file("x", 0o644), fifo.clone()),
            ("e", None, file("new", 0o644)),
        ]));
        use FileChangeKind::*;
        let want =
            [("a", Modified), ("b", Metadata), ("c", Rewritten), ("d", Replaced), ("e", Created)];
        assert_eq!(kinds(&events), want.map(|(p, k)| (p.to_string(), k)));
        // The same set again: nothing new. Then `a` restored and `e` removed.
        assert!(
            t.update(set(vec![
                ("a", file("x", 0o644), file("y", 0o644)),
                ("b", file("x", 0o644), file("x", 0o000)),
                ("c", file("x", 0o644), file("x", 0o644)),
                ("d", file("x", 0o644), fifo.clone()),
                ("e", None, file("new", 0o644)),
            ]))
            .is_empty()
        );
        let events = t.update(set(vec![
            ("a", file("x", 0o644), file("x", 0o644)),
            ("b", file("x", 0o644), file("x", 0o000)),
            ("c", file("x", 0o644), file("x", 0o644)),
            ("d", file("x", 0o644), fifo),
        ]));
        assert_eq!(kinds(&events), [("a".to_string(), Modified), ("e".to_string(), Deleted)]);
    }

    #[test]
    fn unreadable_parts_are_reported_once() {
        let mut t = Tracker::new(ChangeSet::default(), BTreeMap::new());
        let broken = || ChangeSet {
            errors: vec![("deep/…".into(), "too deep".into())],
            ..ChangeSet::default()
        };
        let events = t.update(broken());
        assert!(
            matches!(&events[..], [Body::ChangeSetIncomplete { unread, more: 0 }] if unread.len() == 1)
        );
        assert!(t.update(broken()).is_empty());
    }
}
