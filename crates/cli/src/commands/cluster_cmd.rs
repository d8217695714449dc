//! `perimeter cluster slurm|k8s`: the files that run a sharded run on a
//! cluster (docs/cluster.md). Each shard is `perimeter run --shard I/N`
//! into a folder of its own on shared storage, resumed when its task is
//! run again; a merge job joins them (`perimeter merge`).

use serde_json::{Value, json};

use super::*;

/// Refuses run arguments the cluster files set themselves.
fn check_run_args(run: &[String]) -> Result<(), Failure> {
    for a in run {
        let name = a.split('=').next().unwrap_or_default();
        if ["--out", "--shard", "--resume"].contains(&name) {
            return Err(Failure::usage(
                format!("`{a}` after `--`: the cluster files set {name} for each shard"),
                Some(
                    "give only the run's own arguments: agent, model, scenarios, epochs, limits"
                        .into(),
                ),
            ));
        }
    }
    if !run.iter().any(|a| a == "--agent" || a.starts_with("--agent=")) {
        return Err(Failure::usage(
            "the run's arguments after `--` name no --agent".to_owned(),
            Some("e.g. -- --agent scripted:mixed:20 --epochs 10".into()),
        ));
    }
    Ok(())
}

fn quoted(args: &[String]) -> String {
    args.iter().map(|a| text::shell_quote(a)).collect::<Vec<_>>().join(" ")
}

/// The suites a merge needs, as `--suite` arguments: the run's own, in
/// its order, or the built-in one.
fn suite_args(run: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut args = run.iter();
    while let Some(a) = args.next() {
        match a.strip_prefix("--suite=") {
            Some(s) => out.push(s.to_owned()),
            None if a == "--suite" => out.extend(args.next().cloned()),
            None => {}
        }
    }
    if out.is_empty() {
        out.push("builtin".into());
    }
    out.into_iter().flat_map(|s| ["--suite".to_owned(), s]).collect()
}

pub(super) fn cluster_slurm(
    shards: u32,
    dir: &Path,
    perimeter: Option<&Path>,
    sbatch: &[String],
    run: &[String],
) -> Result<ExitCode, Failure> {
    check_run_args(run)?;
    let dir = std::path::absolute(dir)
        .map_err(|e| Failure::usage(format!("{}: {e}", dir.display()), None))?;
    let bin = match perimeter {
        Some(p) => p.to_path_buf(),
        None => std::env::current_exe()
            .map_err(|e| Failure::runtime(format!("the perimeter binary: {e}"), None))?,
    };
    let (bin, d) = (text::shell_quote(&bin.display().to_string()), dir.display().to_string());
    let q = |p: &str| text::shell_quote(&format!("{d}/{p}"));
    let extra: String = sbatch.iter().map(|o| format!("#SBATCH {o}\n")).collect();
    let array = format!(
        r#"#!/usr/bin/env bash
# Written by `perimeter cluster slurm`: one array task per shard of the run.
# A task run again (requeued after a node failure, or by hand) resumes its
# shard: the episodes it finished are kept, the others run; none is lost or
# run twice. Exit 3: the shard finished, but some episodes ended for
# infrastructure reasons (its summary says which).
#SBATCH --job-name=perimeter-shards
#SBATCH --array=0-{last}
#SBATCH --requeue
#SBATCH --open-mode=append
#SBATCH --output={logs}/shard-%a.log
{extra}set -euo pipefail
i=${{SLURM_ARRAY_TASK_ID:?run this under sbatch --array, or set SLURM_ARRAY_TASK_ID}}
shard={shards_dir}/"$i"
resume=()
[ -e "$shard/run.json" ] && resume=(--resume)
exec {bin} run {args} --shard "$i/{shards}" --out "$shard" "${{resume[@]}}"
"#,
        last = shards - 1,
        logs = q("logs"),
        shards_dir = q("shards"),
        args = quoted(run),
    );
    let merge = format!(
        r#"#!/usr/bin/env bash
# Written by `perimeter cluster slurm`: joins the shards into one run once
# the array is over (`sbatch --dependency=afterany:<array job>`). Missing
# episodes are listed and the run is left without a summary: run their
# tasks again (`sbatch --array=<i> shards.sbatch`) and this job again.
#SBATCH --job-name=perimeter-merge
#SBATCH --output={logs}/merge.log
{extra}set -euo pipefail
exec {bin} merge {shards_dir}/* --out {merged} {suites}
"#,
        logs = q("logs"),
        shards_dir = q("shards"),
        merged = q("run"),
        suites = quoted(&suite_args(run)),
    );
    let merged_plain = format!("{d}/run");
    let submit = format!(
        r#"#!/bin/sh
# Written by `perimeter cluster slurm`: submits the shards, then the merge.
set -eu
mkdir -p {logs} {shards_dir}
job=$(sbatch --parsable {array})
merge=$(sbatch --parsable --dependency=afterany:"$job" {merge})
echo "shards: job $job; merge: job $merge; the merged run will be in {merged_plain}"
"#,
        logs = q("logs"),
        shards_dir = q("shards"),
        array = q("shards.sbatch"),
        merge = q("merge.sbatch"),
    );
    std::fs::create_dir_all(dir.join("logs"))
        .map_err(|e| Failure::runtime(format!("{}: {e}", dir.display()), None))?;
    for (name, textual) in
        [("shards.sbatch", &array), ("merge.sbatch", &merge), ("submit.sh", &submit)]
    {
        let path = dir.join(name);
        write_out(&path, textual)?;
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755));
    }
    println!(
        "{}: a job array of {} and a merge job; submit with\n    sh {}",
        dir.display(),
        render::count(u64::from(shards), "shard"),
        text::shell_quote(&dir.join("submit.sh").display().to_string())
    );
    Ok(ExitCode::SUCCESS)
}

pub(super) struct K8s {
    pub shards: u32,
    pub parallelism: u32,
    pub image: String,
    pub claim: String,
    pub name: String,
    pub out: PathBuf,
    pub run: Vec<String>,
}

/// The container's security context the sandbox needs, each setting with
/// why (docs/cluster.md).
fn security_context() -> Value {
    json!({
        // The sandbox starts as root to build each episode's namespaces,
        // overlay and cgroup, then runs the agent as an unprivileged user.
        "runAsUser": 0,
        "runAsNonRoot": false,
        "privileged": false,
        "allowPrivilegeEscalation": true,
        // What the harness uses as root (sandbox::ROOT_CAPABILITIES), and
        // nothing more: the agent's user mapped in (SETUID, SETGID), the
        // exec audit reading the agent's processes (SYS_PTRACE),
        // fanotify's exact watch (SYS_ADMIN; inotify without it).
        "capabilities": {
            "drop": ["ALL"],
            "add": sandbox::ROOT_CAPABILITIES
                .iter()
                .map(|c| c.name.trim_start_matches("CAP_"))
                .collect::<Vec<_>>()
        },
        // The runtime's default seccomp profile forbids unshare and mount;
        // the sandbox installs its own filter for every agent process.
        "seccompProfile": {"type": "Unconfined"},
        // Container AppArmor profiles forbid mount.
        "appArmorProfile": {"type": "Unconfined"}
    })
}

fn job(k: &K8s, name: &str, completions: Option<u32>, args: Vec<String>) -> Value {
    let mut spec = json!({
        "backoffLimit": 6,
        "template": {
            "metadata": {"labels": {"app.kubernetes.io/name": "perimeter", "perimeter/job": name}},
            "spec": {
                "restartPolicy": "Never",
                "containers": [{
                    "name": "perimeter",
                    "image": k.image,
                    "command": ["perimeter"],
                    "args": args,
                    "securityContext": security_context(),
                    "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                    "resources": {"requests": {"cpu": "2", "memory": "4Gi"}}
                }],
                "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": k.claim}}]
            }
        }
    });
    if let Some(n) = completions {
        spec["completionMode"] = json!("Indexed");
        spec["completions"] = json!(n);
        spec["parallelism"] = json!(k.parallelism.min(n));
        // Retries count per shard, and a shard that keeps failing does not
        // stop the others.
        spec["backoffLimitPerIndex"] = json!(3);
        spec.as_object_mut().expect("an object").remove("backoffLimit");
    }
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/name": "perimeter"}},
        "spec": spec
    })
}

pub(super) fn cluster_k8s(k: &K8s) -> Result<ExitCode, Failure> {
    check_run_args(&k.run)?;
    let mut shard_args: Vec<String> = vec!["run".into()];
    shard_args.extend(k.run.iter().cloned());
    // Kubernetes expands $(JOB_COMPLETION_INDEX), which an Indexed Job
    // sets in every pod. A pod retried on its index resumes the shard.
    shard_args.extend([
        "--shard".into(),
        format!("$(JOB_COMPLETION_INDEX)/{}", k.shards),
        "--out".into(),
        "/data/shards/$(JOB_COMPLETION_INDEX)".into(),
        "--resume".into(),
    ]);
    let shards = job(k, &format!("{}-shards", k.name), Some(k.shards), shard_args);
    let merge_args: Vec<String> = ["merge".into()]
        .into_iter()
        .chain((0..k.shards).map(|i| format!("/data/shards/{i}")))
        .chain(["--out".into(), "/data/run".into()])
        .chain(suite_args(&k.run))
        .collect();
    let merge = job(k, &format!("{}-merge", k.name), None, merge_args);
    std::fs::create_dir_all(&k.out)
        .map_err(|e| Failure::runtime(format!("{}: {e}", k.out.display()), None))?;
    for (file, manifest) in [("shards.json", &shards), ("merge.json", &merge)] {
        write_out(
            &k.out.join(file),
            &(serde_json::to_string_pretty(manifest).expect("JSON") + "\n"),
        )?;
    }
    println!(
        "{}: an Indexed Job of {} ({} at a time) and a merge Job; run with\n    kubectl apply -f {}\n    kubectl wait --for=condition=complete --timeout=24h job/{}-shards\n    kubectl apply -f {}",
        k.out.display(),
        render::count(u64::from(k.shards), "shard"),
        k.parallelism.min(k.shards),
        k.out.join("shards.json").display(),
        k.name,
        k.out.join("merge.json").display()
    );
    Ok(ExitCode::SUCCESS)
}
