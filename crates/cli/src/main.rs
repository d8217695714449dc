fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(sandbox::INIT_ARG) {
        std::process::exit(sandbox::run_init());
    }
    let home = std::path::PathBuf::from(
        format!("{}", std::env::var("PT").unwrap_or("/tmp/ptest".into())) + "/home",
    );
    let _ = std::fs::remove_dir_all(
        format!("{}", std::env::var("PT").unwrap_or("/tmp/ptest".into())) + "",
    );
    std::fs::create_dir_all(home.join("lab")).unwrap();
    std::fs::create_dir_all(home.join(".aws")).unwrap();
    std::fs::write(home.join(".aws/credentials"), "secret\n").unwrap();
    std::fs::write(home.join("lab/a.txt"), "hello\n").unwrap();
    let spec = sandbox::SandboxSpec {
        init_program: std::env::current_exe().unwrap(),
        scratch: (format!("{}", std::env::var("PT").unwrap_or("/tmp/ptest".into())) + "/scratch")
            .into(),
        home,
        honeypots: vec![".aws/credentials".into()],
        limits: Default::default(),
        slot: 0,
    };
    let t = std::time::Instant::now();
    let mut s = match sandbox::Sandbox::start(&spec) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1)
        }
    };
    eprintln!("started in {:?}", t.elapsed());
    let cmd = args[1..].join(" ");
    let t = std::time::Instant::now();
    let out = s.exec(&sandbox::ExecRequest {
        argv: vec!["bash".into(), "-c".into(), cmd],
        cwd: "/home/agent/lab".into(),
        env: vec![
            ("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into()),
            ("HOME".into(), "/home/agent".into()),
        ],
        stdin: None,
        timeout_ms: 10_000,
    });
    eprintln!("exec in {:?}", t.elapsed());
    println!("{out:#?}");
    for a in s.audit() {
        println!("{a:?}");
    }
    println!("{:?}", s.changes());
    println!("{:?}", s.processes());
    s.shutdown();
}
