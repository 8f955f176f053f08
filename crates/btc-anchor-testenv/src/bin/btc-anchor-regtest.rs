//! `btc-anchor-regtest`: a regtest stack (bcoin + ElectrumX) for shell
//! scripts such as `regtest/demo.sh`.
//!
//! ```text
//! btc-anchor-regtest start DIR                 start a stack in DIR, print DIR/env
//! btc-anchor-regtest fund DIR ADDRESS BTC      fund ADDRESS with >= BTC (mature, segwit on)
//! btc-anchor-regtest mine DIR N [ADDRESS]      mine N blocks, print the new height
//! btc-anchor-regtest stop DIR                  stop the stack
//! ```
//!
//! `start` leaves a server process behind that owns the stack (its log is
//! `DIR/server.log`); it ends on `stop`.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use bitcoin::{Address, Amount};
use btc_anchor_testenv::regtest::{parse_address, TestEnv, DEFAULT_TIMEOUT};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const USAGE: &str =
    "usage: btc-anchor-regtest start|stop DIR | fund DIR ADDRESS BTC | mine DIR N [ADDRESS]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("btc-anchor-regtest: {e}");
            ExitCode::FAILURE
        }
    }
}

fn address(s: &str) -> Result<Address> {
    Ok(parse_address(s)?)
}

fn run(args: &[String]) -> Result<()> {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    match a.as_slice() {
        ["start", dir] => start(Path::new(dir)),
        ["serve", dir] => serve(Path::new(dir)),
        ["stop", dir] => stop(Path::new(dir)),
        ["fund", dir, addr, btc] => {
            let env = TestEnv::attach(&Path::new(dir).join("env"))?;
            let f = env.fund(
                &address(addr)?,
                Amount::from_str_in(btc, bitcoin::Denomination::Bitcoin)?,
            )?;
            println!("FUNDED_SAT={}", f.amount.to_sat());
            println!("HEIGHT={}", f.height);
            Ok(())
        }
        ["mine", dir, n, rest @ ..] if rest.len() <= 1 => {
            let env = TestEnv::attach(&Path::new(dir).join("env"))?;
            let to = rest.first().map(|s| address(s)).transpose()?;
            env.mine_blocks(n.parse()?, to.as_ref())?;
            println!("{}", env.tip()?);
            Ok(())
        }
        _ => Err(USAGE.into()),
    }
}

/// Starts `serve DIR` in the background and waits until it is ready.
fn start(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let env_file = dir.join("env");
    if env_file.exists() && !server_alive(&env_file) {
        // Left by a server that was killed; its watchdog ended the stack.
        std::fs::remove_file(&env_file)?;
    }
    if env_file.exists() {
        return Err(format!(
            "a stack is already running in {} (stop it first)",
            dir.display()
        )
        .into());
    }
    let _ = std::fs::remove_file(dir.join("stop"));
    let log = std::fs::File::create(dir.join("server.log"))?;
    let mut server = {
        use std::os::unix::process::CommandExt as _;
        Command::new(std::env::current_exe()?)
            .arg("serve")
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0)
            .spawn()?
    };
    let deadline = Instant::now() + DEFAULT_TIMEOUT * 2;
    while !env_file.exists() {
        if let Some(status) = server.try_wait()? {
            let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
            return Err(format!("the stack's server exited ({status}):\n{log}").into());
        }
        if Instant::now() > deadline {
            let _ = server.kill();
            return Err("the stack did not start in time".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    print!("{}", std::fs::read_to_string(&env_file)?);
    Ok(())
}

/// Whether the server named in `env_file` (`PID=`) still runs.
fn server_alive(env_file: &Path) -> bool {
    let text = std::fs::read_to_string(env_file).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("PID="))
        .is_some_and(|pid| Path::new("/proc").join(pid.trim()).exists())
}

/// Owns a stack until `DIR/stop` appears.
fn serve(dir: &Path) -> Result<()> {
    let env = TestEnv::new_in(dir)?;
    let env_file = dir.join("env");
    env.write_env_file(&env_file)?;
    let stop_file: PathBuf = dir.join("stop");
    while !stop_file.exists() {
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(env);
    std::fs::remove_file(&env_file)?;
    std::fs::remove_file(&stop_file)?;
    Ok(())
}

/// Asks the server to stop and waits until it has; a stopped stack is fine.
fn stop(dir: &Path) -> Result<()> {
    let env_file = dir.join("env");
    if !env_file.exists() {
        return Ok(());
    }
    if !server_alive(&env_file) {
        std::fs::remove_file(&env_file)?;
        return Ok(());
    }
    std::fs::write(dir.join("stop"), "")?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while env_file.exists() {
        if Instant::now() > deadline {
            return Err(format!("the stack in {} did not stop", dir.display()).into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}
