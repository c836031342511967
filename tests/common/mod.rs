//! Integration-test harness for `mqttc`: a private mosquitto broker per test, a
//! `mosquitto_sub` observer, and helpers that run programs with bounded time.
//!
//! Rules this module follows (see `shared/FIELD-NOTES.md`, "mosquitto in tests"):
//! - every [`Broker`] is a `mosquitto` process of its own, on ephemeral `127.0.0.1` ports, with a
//!   generated config in a temporary directory; it is killed by its PID (SIGKILL, then reaped)
//!   when dropped. No test ever talks to a broker it did not start, nor to anything off loopback;
//! - readiness is awaited (log line + a connect to every listener), never slept for;
//! - everything has a bounded timeout, and every failure message carries the broker's log.
//!
//! Facts about Debian's mosquitto 2.0.11 this code depends on (checked on the build machine):
//! - a `protocol websockets` listener ignores both an IP address on its `listener` line and
//!   `bind_interface`: it listens on `[::]`, every interface. Giving the *interface name* as the
//!   host (`listener PORT lo`) is what keeps it on `[::ffff:127.0.0.1]`;
//! - a config whose only listener is a websockets one fails to start ("Unable to start any
//!   listening sockets"); here there is always the plain listener, so it never happens;
//! - `mosquitto_sub -d` writes its debug lines to **stdout** and does not flush them when stdout
//!   is a pipe (only printed messages are flushed), so the observer runs under `stdbuf -oL`;
//! - in `mosquitto_sub -F`, `@` starts a date/time field and `%` a message field;
//! - `mosquitto_pub -s` refuses an empty stdin ("Zero length input"): empty payloads use `-n`;
//! - persistence is written on a graceful stop (SIGTERM) or on autosave; after SIGKILL the state
//!   since the last save is lost (a save in progress leaves only `mosquitto.db.new`).
#![allow(dead_code)]

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long a broker may take to become ready (log says "running" and every listener connects).
pub const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// Default bound for helpers that run a short-lived program (`mosquitto_pub`, `mosquitto_passwd`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// How many times [`Broker::start`] picks fresh ports when mosquitto loses a bind race.
const START_ATTEMPTS: usize = 5;
/// How long [`Broker::restart`] keeps retrying the bind of the *same* ports.
const RESTART_BIND_WINDOW: Duration = Duration::from_secs(10);
/// Interval between two polls of a condition that has no event to wait on (process state, files).
const POLL: Duration = Duration::from_millis(5);

/// User accepted by the password listener, with [`ALICE_PASSWORD`]. May read and write `#`.
pub const ALICE: &str = "alice";
/// Password of [`ALICE`].
pub const ALICE_PASSWORD: &str = "secret";
/// User accepted by the password listener, with [`BOB_PASSWORD`]. With [`BrokerOptions::acl`]
/// bob may only read and write `public/#`.
pub const BOB: &str = "bob";
/// Password of [`BOB`].
pub const BOB_PASSWORD: &str = "hunter2";

// ---------------------------------------------------------------------------------------------
// Broker options
// ---------------------------------------------------------------------------------------------

/// What a [`Broker`] listens on. `Default` (and [`BrokerOptions::new`]) is one plain anonymous
/// MQTT listener on `127.0.0.1`; each builder method adds a listener or a setting.
#[derive(Clone, Debug, Default)]
pub struct BrokerOptions {
    password: bool,
    acl: bool,
    tls: bool,
    tls_client_cert: bool,
    unix_socket: bool,
    websockets: bool,
    websockets_tls: bool,
    persistence: bool,
    extra: Vec<String>,
}

impl BrokerOptions {
    /// One plain anonymous listener (see [`Broker::port`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a listener that requires a user name and password ([`Broker::password_port`]):
    /// users `alice`/`secret` and `bob`/`hunter2` (file made with `mosquitto_passwd -c -b` / `-b`).
    /// Anonymous clients are refused there.
    pub fn password(mut self) -> Self {
        self.password = true;
        self
    }

    /// Adds an ACL to the password listener (and implies [`BrokerOptions::password`]): alice may
    /// read and write `#`; bob may read and write `public/#` only. mosquitto drops bob's publish to
    /// `private/x` silently (he still gets his PUBACK) and grants his SUBSCRIBE to `private/#`
    /// (SUBACK success) but delivers nothing on it.
    pub fn acl(mut self) -> Self {
        self.password = true;
        self.acl = true;
        self
    }

    /// Adds a TLS listener ([`Broker::tls_port`], anonymous allowed) whose certificate is for
    /// `localhost` and `127.0.0.1`, signed by the test CA ([`Broker::ca_pem`]).
    pub fn tls(mut self) -> Self {
        self.tls = true;
        self
    }

    /// Adds a TLS listener with `require_certificate true` ([`Broker::tls_client_cert_port`]):
    /// clients must present a certificate signed by the test CA ([`Broker::client_cert_pem`]).
    pub fn tls_client_cert(mut self) -> Self {
        self.tls_client_cert = true;
        self
    }

    /// Adds an anonymous unix-socket listener (`listener 0 DIR/mqtt.sock`, [`Broker::unix_path`]).
    pub fn unix_socket(mut self) -> Self {
        self.unix_socket = true;
        self
    }

    /// Adds an anonymous `protocol websockets` listener ([`Broker::ws_port`]) kept on loopback by
    /// `listener PORT lo`: with mosquitto 2.0.11 neither `listener PORT 127.0.0.1` nor
    /// `bind_interface lo` restricts a websockets listener (both listen on `[::]`).
    pub fn websockets(mut self) -> Self {
        self.websockets = true;
        self
    }

    /// Adds an anonymous websockets listener with TLS ([`Broker::wss_port`]), on loopback like
    /// [`BrokerOptions::websockets`], with the same server certificate as [`BrokerOptions::tls`].
    pub fn websockets_tls(mut self) -> Self {
        self.websockets_tls = true;
        self
    }

    /// Turns persistence on, stored in `DIR/persist/`. The state survives [`Broker::stop`] +
    /// [`Broker::restart`]; after [`Broker::kill`] it is lost (mosquitto saves on shutdown).
    pub fn persistence(mut self) -> Self {
        self.persistence = true;
        self
    }

    /// Appends raw config lines (may contain `\n`) to the plain listener's block, e.g.
    /// `"max_packet_size 100000"`. Global options work there too (mosquitto does not scope them).
    pub fn extra(mut self, line: &str) -> Self {
        self.extra.push(line.to_string());
        self
    }
}

// ---------------------------------------------------------------------------------------------
// Broker
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, Default)]
struct Ports {
    plain: u16,
    password: Option<u16>,
    tls: Option<u16>,
    tls_client_cert: Option<u16>,
    ws: Option<u16>,
    wss: Option<u16>,
}

impl Ports {
    fn tcp(&self) -> Vec<u16> {
        let mut v = vec![self.plain];
        v.extend(self.password);
        v.extend(self.tls);
        v.extend(self.tls_client_cert);
        v.extend(self.ws);
        v.extend(self.wss);
        v
    }
}

/// A private mosquitto process for one test. Killed (SIGKILL, then reaped) on drop; its
/// temporary directory (config, certificates, log) is removed afterwards. If the test is
/// panicking, the drop prints the tail of the broker's log to stderr.
pub struct Broker {
    child: Option<Child>,
    opts: BrokerOptions,
    ports: Ports,
    conf: PathBuf,
    log_path: PathBuf,
    out_path: PathBuf,
    unix_path: Option<PathBuf>,
    // Last field: dropped after the process is dead.
    dir: tempfile::TempDir,
}

/// Why one attempt to start mosquitto failed.
enum StartError {
    /// mosquitto could not bind a port (another process took it): pick new ports and retry.
    Bind(String),
    /// Anything else: give up.
    Fatal(String),
}

impl Broker {
    /// Starts a broker with `opts` and waits until it is ready. Panics with a clear message
    /// (including mosquitto's log and stderr) if it cannot start within the bounds.
    pub fn start(opts: BrokerOptions) -> Broker {
        Self::try_start(opts).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Like [`Broker::start`] but returns the error message instead of panicking.
    pub fn try_start(opts: BrokerOptions) -> Result<Broker, String> {
        let dir = make_tempdir()?;
        let d = dir.path().to_path_buf();
        write_pki(&d)?;
        if opts.password {
            write_passwords(&d)?;
        }
        if opts.acl {
            write_file(&d.join("acl"), ACL)?;
        }
        if opts.persistence {
            fs::create_dir_all(d.join("persist")).map_err(|e| format!("mkdir persist: {e}"))?;
        }
        let mut broker = Broker {
            child: None,
            ports: Ports::default(),
            conf: d.join("mosquitto.conf"),
            log_path: d.join("mosquitto.log"),
            out_path: d.join("mosquitto.stderr"),
            unix_path: opts.unix_socket.then(|| d.join("mqtt.sock")),
            opts,
            dir,
        };
        let mut failures = Vec::new();
        for attempt in 1..=START_ATTEMPTS {
            broker.ports = pick_ports(&broker.opts)?;
            write_file(&broker.conf, &broker.config_text())?;
            match broker.spawn_ready() {
                Ok(()) => return Ok(broker),
                Err(StartError::Bind(msg)) => {
                    eprintln!(
                        "note: mosquitto lost a bind race on {:?} (attempt {attempt}), retrying with new ports\n{}",
                        broker.ports,
                        tail(&msg, 2)
                    );
                    failures.push(format!("attempt {attempt}: {msg}"));
                }
                Err(StartError::Fatal(msg)) => return Err(msg),
            }
        }
        Err(format!(
            "mosquitto lost the bind race {START_ATTEMPTS} times in a row:\n{}",
            failures.join("\n")
        ))
    }

    /// A broker with only the plain anonymous listener.
    pub fn plain() -> Broker {
        Self::start(BrokerOptions::new())
    }

    /// Port of the plain anonymous listener on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.ports.plain
    }

    /// Port of the user/password listener. Panics unless [`BrokerOptions::password`] was set.
    pub fn password_port(&self) -> u16 {
        self.ports
            .password
            .expect("broker started without BrokerOptions::password()")
    }

    /// Port of the anonymous TLS listener. Panics unless [`BrokerOptions::tls`] was set.
    pub fn tls_port(&self) -> u16 {
        self.ports
            .tls
            .expect("broker started without BrokerOptions::tls()")
    }

    /// Port of the TLS listener that requires a client certificate. Panics unless
    /// [`BrokerOptions::tls_client_cert`] was set.
    pub fn tls_client_cert_port(&self) -> u16 {
        self.ports
            .tls_client_cert
            .expect("broker started without BrokerOptions::tls_client_cert()")
    }

    /// Port of the websockets listener (loopback only). Panics unless
    /// [`BrokerOptions::websockets`] was set.
    pub fn ws_port(&self) -> u16 {
        self.ports
            .ws
            .expect("broker started without BrokerOptions::websockets()")
    }

    /// Port of the TLS websockets listener. Panics unless [`BrokerOptions::websockets_tls`].
    pub fn wss_port(&self) -> u16 {
        self.ports
            .wss
            .expect("broker started without BrokerOptions::websockets_tls()")
    }

    /// Path of the unix-socket listener. Panics unless [`BrokerOptions::unix_socket`] was set.
    pub fn unix_path(&self) -> &Path {
        self.unix_path
            .as_deref()
            .expect("broker started without BrokerOptions::unix_socket()")
    }

    /// `"127.0.0.1:PORT"` of the plain listener.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.ports.plain)
    }

    /// The broker's temporary directory (config, certificates, log, socket, persistence).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The generated mosquitto config file.
    pub fn config_path(&self) -> &Path {
        &self.conf
    }

    /// The test CA's certificate (PEM). It signed the TLS listeners' certificate and
    /// [`Broker::client_cert_pem`].
    pub fn ca_pem(&self) -> PathBuf {
        self.dir().join("ca.pem")
    }

    /// A client certificate signed by the test CA, CN `alice`, for the client-cert listener.
    pub fn client_cert_pem(&self) -> PathBuf {
        self.dir().join("client.pem")
    }

    /// The key of [`Broker::client_cert_pem`] (PKCS#8 PEM, ECDSA P-256).
    pub fn client_key_pem(&self) -> PathBuf {
        self.dir().join("client.key")
    }

    /// An unrelated CA (PEM) that signed nothing the broker uses: for "wrong CA" tests.
    pub fn other_ca_pem(&self) -> PathBuf {
        self.dir().join("other-ca.pem")
    }

    /// A client certificate (CN `mallory`) signed by the unrelated CA: the client-cert listener
    /// must refuse it.
    pub fn other_client_cert_pem(&self) -> PathBuf {
        self.dir().join("other-client.pem")
    }

    /// The key of [`Broker::other_client_cert_pem`] (PKCS#8 PEM).
    pub fn other_client_key_pem(&self) -> PathBuf {
        self.dir().join("other-client.key")
    }

    /// mosquitto's log so far (`log_type all`), across restarts, plus what it wrote on
    /// stdout/stderr (config errors appear there before the log file is opened).
    pub fn log(&self) -> String {
        let log = read_lossy(&self.log_path);
        let out = read_lossy(&self.out_path);
        if out.trim().is_empty() {
            log
        } else {
            format!("{log}\n--- mosquitto stdout/stderr ---\n{out}")
        }
    }

    /// How many times `needle` occurs in the log file.
    pub fn log_count(&self, needle: &str) -> usize {
        read_lossy(&self.log_path).matches(needle).count()
    }

    /// Waits (polling, bounded by `timeout`) until the log contains `needle` at least `n` times;
    /// panics with the log otherwise. Use it to await broker-side events, e.g.
    /// `"Sending SUBACK to my-client-id"` before publishing to a subscriber under test, or
    /// `"Client my-client-id disconnected."`.
    pub fn wait_for_log(&self, needle: &str, n: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if self.log_count(needle) >= n {
                return;
            }
            if Instant::now() >= deadline {
                panic!(
                    "broker log did not contain {needle:?} {n} time(s) within {timeout:?}\n{}",
                    self.log_report()
                );
            }
            thread::sleep(POLL);
        }
    }

    /// PID of the running mosquitto. Panics if it is not running.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("broker is not running").id()
    }

    /// Whether the mosquitto process is still alive.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Kills mosquitto (SIGKILL) and reaps it: a crash, for broker-loss tests. Without a
    /// previous save, persistent state is lost. No-op if it is not running.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Stops mosquitto gracefully (SIGTERM, so it saves persistence and says goodbye) and
    /// waits up to 10 s for it to exit; then SIGKILLs it and panics if it had not exited.
    pub fn stop(&mut self) {
        let Some(mut c) = self.child.take() else {
            return;
        };
        send_signal(c.id(), "TERM");
        match wait_child(&mut c, Duration::from_secs(10)) {
            Some(_) => {}
            None => {
                let _ = c.kill();
                let _ = c.wait();
                panic!(
                    "mosquitto did not exit within 10 s of SIGTERM\n{}",
                    self.log_report()
                );
            }
        }
    }

    /// Starts mosquitto again (killing it first if it runs) on the SAME ports with the same
    /// config, retrying for up to 10 s while a port is still taken. With persistence, what was
    /// saved (see [`Broker::stop`]) is restored. Panics with the log if it cannot.
    pub fn restart(&mut self) {
        self.kill();
        let deadline = Instant::now() + RESTART_BIND_WINDOW;
        loop {
            match self.spawn_ready() {
                Ok(()) => return,
                Err(StartError::Fatal(msg)) => panic!("restart failed: {msg}"),
                Err(StartError::Bind(msg)) => {
                    eprintln!(
                        "note: restart: a port of {:?} is still taken, retrying",
                        self.ports
                    );
                    if Instant::now() >= deadline {
                        panic!("restart: a port stayed taken for {RESTART_BIND_WINDOW:?}: {msg}");
                    }
                    thread::sleep(Duration::from_millis(50));
                }
            }
        }
    }

    fn log_report(&self) -> String {
        format!(
            "--- mosquitto log ({}) ---\n{}\n--- end of mosquitto log ---",
            self.log_path.display(),
            tail(&self.log(), 200)
        )
    }

    fn config_text(&self) -> String {
        let d = self.dir.path();
        let p = |name: &str| d.join(name).display().to_string();
        let mut c = String::new();
        c.push_str("# Generated by tests/common/mod.rs for one test.\n");
        // Without it mosquitto started as root switches to user `mosquitto` and cannot read
        // the 0600 files of this directory. Ignored when not started as root.
        c.push_str("user root\n");
        c.push_str("per_listener_settings true\n");
        if self.opts.persistence {
            c.push_str(&format!(
                "persistence true\npersistence_location {}/\n",
                p("persist")
            ));
        } else {
            c.push_str("persistence false\n");
        }
        c.push_str(&format!(
            "log_dest file {}\nlog_type all\n",
            self.log_path.display()
        ));
        c.push_str("connection_messages true\n\n");

        c.push_str(&format!(
            "listener {} 127.0.0.1\nallow_anonymous true\n",
            self.ports.plain
        ));
        for line in &self.opts.extra {
            c.push_str(line);
            c.push('\n');
        }
        if let Some(port) = self.ports.password {
            c.push_str(&format!(
                "\nlistener {port} 127.0.0.1\nallow_anonymous false\npassword_file {}\n",
                p("passwd")
            ));
            if self.opts.acl {
                c.push_str(&format!("acl_file {}\n", p("acl")));
            }
        }
        let tls_files = format!(
            "cafile {}\ncertfile {}\nkeyfile {}\n",
            p("ca.pem"),
            p("server.pem"),
            p("server.key")
        );
        if let Some(port) = self.ports.tls {
            c.push_str(&format!(
                "\nlistener {port} 127.0.0.1\nallow_anonymous true\n{tls_files}"
            ));
        }
        if let Some(port) = self.ports.tls_client_cert {
            c.push_str(&format!(
                "\nlistener {port} 127.0.0.1\nallow_anonymous true\n{tls_files}require_certificate true\n"
            ));
        }
        if let Some(path) = &self.unix_path {
            c.push_str(&format!(
                "\nlistener 0 {}\nallow_anonymous true\n",
                path.display()
            ));
        }
        if let Some(port) = self.ports.ws {
            // Interface name as host: the only form that keeps a 2.0.11 ws listener on loopback.
            c.push_str(&format!(
                "\nlistener {port} lo\nprotocol websockets\nallow_anonymous true\n"
            ));
        }
        if let Some(port) = self.ports.wss {
            c.push_str(&format!(
                "\nlistener {port} lo\nprotocol websockets\nallow_anonymous true\n{tls_files}"
            ));
        }
        c
    }

    /// Spawns mosquitto with the current config and waits until it is ready.
    fn spawn_ready(&mut self) -> Result<(), StartError> {
        let log_off = file_len(&self.log_path);
        let out_off = file_len(&self.out_path);
        let out = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.out_path)
            .map_err(|e| StartError::Fatal(format!("open {}: {e}", self.out_path.display())))?;
        let out2 = out
            .try_clone()
            .map_err(|e| StartError::Fatal(e.to_string()))?;
        let bin = mosquitto_bin();
        let child = Command::new(&bin)
            .arg("-c")
            .arg(&self.conf)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(out2)
            .spawn()
            .map_err(|e| {
                StartError::Fatal(format!(
                    "cannot run {}: {e} (install Debian's `mosquitto` and `mosquitto-clients`)",
                    bin.display()
                ))
            })?;
        self.child = Some(child);
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut running = false;
        let (log_path, out_path) = (self.log_path.clone(), self.out_path.clone());
        let new_output = || {
            format!(
                "{}{}",
                read_lossy_from(&log_path, log_off),
                read_lossy_from(&out_path, out_off)
            )
        };
        loop {
            let child = self.child.as_mut().unwrap();
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                let output = new_output();
                let msg = format!(
                    "mosquitto exited ({status}) before it was ready; ports {:?}\n\
                     --- config {} ---\n{}\n--- mosquitto output ---\n{}",
                    self.ports,
                    self.conf.display(),
                    read_lossy(&self.conf),
                    output
                );
                return Err(
                    if output.contains("Address already in use")
                        || output.contains("Unable to create websockets listener")
                    {
                        StartError::Bind(msg)
                    } else {
                        StartError::Fatal(msg)
                    },
                );
            }
            if !running {
                // "mosquitto version 2.0.11 running" is logged once every listener is bound,
                // by this process: after it, a successful connect cannot be someone else's.
                running = read_lossy_from(&self.log_path, log_off)
                    .lines()
                    .any(|l| l.contains("mosquitto version") && l.trim_end().ends_with(" running"));
            }
            if running && self.listeners_connect() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let output = new_output();
                self.kill();
                return Err(StartError::Fatal(format!(
                    "mosquitto not ready within {READY_TIMEOUT:?} (logged running: {running}); \
                     ports {:?}\n--- config ---\n{}\n--- mosquitto output ---\n{}",
                    self.ports,
                    read_lossy(&self.conf),
                    output
                )));
            }
            thread::sleep(POLL);
        }
    }

    fn listeners_connect(&self) -> bool {
        let tcp_ok = self.ports.tcp().into_iter().all(|port| {
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()
        });
        let unix_ok = match &self.unix_path {
            Some(p) => p.exists() && UnixStream::connect(p).is_ok(),
            None => true,
        };
        tcp_ok && unix_ok
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
        if thread::panicking() {
            eprintln!("{}", self.log_report());
        }
    }
}

impl fmt::Debug for Broker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Broker")
            .field("pid", &self.child.as_ref().map(|c| c.id()))
            .field("ports", &self.ports)
            .field("unix_path", &self.unix_path)
            .field("dir", &self.dir.path())
            .finish()
    }
}

const ACL: &str = "\
# alice: everything. bob: public/# only (read and write).
user alice
topic readwrite #

user bob
topic readwrite public/#
";

fn mosquitto_bin() -> PathBuf {
    // Debian puts the broker in /usr/sbin, which is not on a normal user's PATH.
    for p in ["/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    PathBuf::from("mosquitto")
}

fn make_tempdir() -> Result<tempfile::TempDir, String> {
    // A unix socket path must fit in sun_path (108 bytes): fall back to /tmp if TMPDIR is long.
    let base = std::env::temp_dir();
    let base = if base.as_os_str().len() > 60 {
        PathBuf::from("/tmp")
    } else {
        base
    };
    tempfile::Builder::new()
        .prefix("mqttc-test-")
        .tempdir_in(&base)
        .map_err(|e| format!("cannot create a temp dir in {}: {e}", base.display()))
}

/// Ports this process has handed out: a parallel test of the same binary never gets one of
/// them even if the kernel offers it again. Other processes are covered by the bind retry.
fn handed_out() -> &'static Mutex<HashSet<u16>> {
    static SET: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    SET.get_or_init(|| Mutex::new(HashSet::new()))
}

fn pick_ports(opts: &BrokerOptions) -> Result<Ports, String> {
    let n = 1
        + opts.password as usize
        + opts.tls as usize
        + opts.tls_client_cert as usize
        + opts.websockets as usize
        + opts.websockets_tls as usize;
    let mut set = handed_out().lock().unwrap_or_else(|e| e.into_inner());
    // Keep every listener bound until all ports are chosen, so they are distinct.
    let mut held = Vec::new();
    let mut ports = Vec::new();
    for _ in 0..(n + 200) {
        if ports.len() == n {
            break;
        }
        let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind 127.0.0.1:0: {e}"))?;
        let port = l.local_addr().map_err(|e| e.to_string())?.port();
        if set.insert(port) {
            ports.push(port);
        }
        held.push(l);
    }
    drop(held);
    if ports.len() < n {
        return Err("could not find free ports".into());
    }
    let mut it = ports.into_iter();
    let plain = it.next().unwrap();
    let mut next = |on: bool| if on { it.next() } else { None };
    Ok(Ports {
        plain,
        password: next(opts.password),
        tls: next(opts.tls),
        tls_client_cert: next(opts.tls_client_cert),
        ws: next(opts.websockets),
        wss: next(opts.websockets_tls),
    })
}

// ---------------------------------------------------------------------------------------------
// Certificates (rcgen, generated once per test binary)
// ---------------------------------------------------------------------------------------------

struct Pki {
    files: Vec<(&'static str, String)>,
}

fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| make_pki().expect("generating test certificates with rcgen"))
}

fn make_pki() -> Result<Pki, rcgen::Error> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    fn ca(cn: &str) -> Result<(CertificateParams, KeyPair, String), rcgen::Error> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name.push(DnType::CommonName, cn);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let pem = params.self_signed(&key)?.pem();
        Ok((params, key, pem))
    }
    fn leaf(
        cn: &str,
        sans: &[&str],
        eku: ExtendedKeyUsagePurpose,
        issuer: &Issuer<'_, KeyPair>,
    ) -> Result<(String, String), rcgen::Error> {
        let key = KeyPair::generate()?;
        let sans: Vec<String> = sans.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(sans)?;
        params.distinguished_name.push(DnType::CommonName, cn);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![eku];
        params.use_authority_key_identifier_extension = true;
        Ok((params.signed_by(&key, issuer)?.pem(), key.serialize_pem()))
    }
    let (ca_params, ca_key, ca_pem) = ca("mqttc test CA")?;
    let ca_issuer = Issuer::new(ca_params, ca_key);
    let (other_params, other_key, other_pem) = ca("unrelated test CA")?;
    let other_issuer = Issuer::new(other_params, other_key);
    let (server_pem, server_key) = leaf(
        "localhost",
        &["localhost", "127.0.0.1"],
        ExtendedKeyUsagePurpose::ServerAuth,
        &ca_issuer,
    )?;
    let (client_pem, client_key) = leaf(
        "alice",
        &[],
        ExtendedKeyUsagePurpose::ClientAuth,
        &ca_issuer,
    )?;
    let (oclient_pem, oclient_key) = leaf(
        "mallory",
        &[],
        ExtendedKeyUsagePurpose::ClientAuth,
        &other_issuer,
    )?;
    Ok(Pki {
        files: vec![
            ("ca.pem", ca_pem),
            ("server.pem", server_pem),
            ("server.key", server_key),
            ("client.pem", client_pem),
            ("client.key", client_key),
            ("other-ca.pem", other_pem),
            ("other-client.pem", oclient_pem),
            ("other-client.key", oclient_key),
        ],
    })
}

fn write_pki(dir: &Path) -> Result<(), String> {
    for (name, content) in &pki().files {
        write_file(&dir.join(name), content)?;
    }
    Ok(())
}

fn write_passwords(dir: &Path) -> Result<(), String> {
    let file = dir.join("passwd");
    for (i, (user, pass)) in [(ALICE, ALICE_PASSWORD), (BOB, BOB_PASSWORD)]
        .iter()
        .enumerate()
    {
        let mut cmd = Command::new("mosquitto_passwd");
        if i == 0 {
            cmd.arg("-c");
        }
        cmd.arg("-b").arg(&file).arg(user).arg(pass);
        let out = try_run(&mut cmd, b"", DEFAULT_TIMEOUT)?;
        if out.code != Some(0) {
            return Err(format!("mosquitto_passwd failed: {out:?}"));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Running programs
// ---------------------------------------------------------------------------------------------

/// What a finished program left: exit code (None if killed by a signal), signal, and output.
#[derive(Clone, PartialEq, Eq)]
pub struct Output {
    /// Exit status code, or `None` if the program was killed by a signal.
    pub code: Option<i32>,
    /// The signal that killed the program, if any.
    pub signal: Option<i32>,
    /// Everything written to stdout.
    pub stdout: Vec<u8>,
    /// Everything written to stderr.
    pub stderr: Vec<u8>,
}

impl Output {
    /// Exit code 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
    /// stdout as text (lossy UTF-8).
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    /// stderr as text (lossy UTF-8).
    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
    fn from_status(status: ExitStatus, stdout: Vec<u8>, stderr: Vec<u8>) -> Output {
        Output {
            code: status.code(),
            signal: status.signal(),
            stdout,
            stderr,
        }
    }
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Output {{ code: {:?}, signal: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}\n}}",
            self.code,
            self.signal,
            tail(&self.stdout_str(), 100),
            tail(&self.stderr_str(), 100)
        )
    }
}

/// Runs `cmd` with `stdin` as its whole standard input (then closed), and returns its exit code
/// or signal and its output. Panics with a clear message (command, partial output) if it has not
/// finished within `timeout`; the program is then killed and reaped.
pub fn run(cmd: &mut Command, stdin: &[u8], timeout: Duration) -> Output {
    try_run(cmd, stdin, timeout).unwrap_or_else(|e| panic!("{e}"))
}

/// Like [`run`], but returns the failure (cannot start, timeout) as an error message.
pub fn try_run(cmd: &mut Command, stdin: &[u8], timeout: Duration) -> Result<Output, String> {
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {what}: {e}"))?;
    let deadline = Instant::now() + timeout;
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    // A program that does not read its stdin closes the pipe: BrokenPipe is not an error here.
    // Not joined: it ends with the pipe (a grandchild could keep it open).
    thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let (tx, rx) = mpsc::channel();
    let out = read_all_in_thread(child.stdout.take().unwrap(), 0, tx.clone());
    let err = read_all_in_thread(child.stderr.take().unwrap(), 1, tx);
    // Event: both pipes reached EOF (normally: the program exited).
    let mut outputs: [Option<Vec<u8>>; 2] = [None, None];
    while outputs.iter().any(Option::is_none) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((i, data)) => outputs[i] = Some(data),
            Err(_) => break,
        }
    }
    let status = if outputs.iter().all(Option::is_some) {
        wait_child(
            &mut child,
            deadline.saturating_duration_since(Instant::now()),
        )
    } else {
        None
    };
    match status {
        Some(status) => {
            let _ = (out.join(), err.join());
            let [o, e] = outputs;
            Ok(Output::from_status(status, o.unwrap(), e.unwrap()))
        }
        None => {
            let _ = child.kill();
            let _ = child.wait();
            // The pipes close with the process; collect what it wrote (bounded).
            for _ in 0..2 {
                if let Ok((i, data)) = rx.recv_timeout(Duration::from_secs(2)) {
                    outputs[i] = Some(data);
                }
            }
            let [o, e] = outputs;
            Err(format!(
                "timed out after {timeout:?}, killed: {what}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                tail(&String::from_utf8_lossy(&o.unwrap_or_default()), 100),
                tail(&String::from_utf8_lossy(&e.unwrap_or_default()), 100)
            ))
        }
    }
}

fn read_all_in_thread<R: Read + Send + 'static>(
    mut r: R,
    index: usize,
    tx: mpsc::Sender<(usize, Vec<u8>)>,
) -> JoinHandle<()> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        let _ = tx.send((index, buf));
    })
}

/// Waits for `child` to exit, polling, for at most `timeout`. Returns None on timeout.
fn wait_child(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(s)) => return Some(s),
            Ok(None) => {}
            Err(_) => return None,
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(1));
    }
}

/// Sends a signal (name without "SIG", e.g. "INT", "TERM") to a process this test started.
pub fn send_signal(pid: u32, signal: &str) {
    let out = try_run(
        Command::new("kill")
            .arg("-s")
            .arg(signal)
            .arg(pid.to_string()),
        b"",
        DEFAULT_TIMEOUT,
    );
    match out {
        Ok(o) if o.success() => {}
        other => panic!("kill -s {signal} {pid} failed: {other:?}"),
    }
}

/// A long-running program (e.g. `mqttc sub`) whose stdout is read line by line with bounded
/// waits. Killed (SIGKILL) and reaped on drop.
pub struct Proc {
    child: Child,
    what: String,
    stdin: Option<ChildStdin>,
    lines: Receiver<Option<Vec<u8>>>,
    eof: bool,
    stderr: Arc<Mutex<Vec<u8>>>,
    threads: Vec<JoinHandle<()>>,
}

/// Spawns `cmd` with piped stdin, stdout and stderr. See [`Proc`].
pub fn spawn(cmd: &mut Command) -> Proc {
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let stdin = child.stdin.take();
    let (tx, lines) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    let t1 = thread::spawn(move || {
        let mut r = BufReader::new(stdout);
        loop {
            let mut line = Vec::new();
            match r.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if tx.send(Some(line)).is_err() {
                        return;
                    }
                }
            }
        }
        let _ = tx.send(None);
    });
    let stderr = Arc::new(Mutex::new(Vec::new()));
    let t2 = collect_in_thread(child.stderr.take().unwrap(), stderr.clone());
    Proc {
        child,
        what,
        stdin,
        lines,
        eof: false,
        stderr,
        threads: vec![t1, t2],
    }
}

impl Proc {
    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Writes bytes to its stdin (panics if stdin was closed).
    pub fn write_stdin(&mut self, data: &[u8]) {
        let s = self.stdin.as_mut().expect("stdin already closed");
        s.write_all(data)
            .and_then(|_| s.flush())
            .unwrap_or_else(|e| panic!("write to {}: {e}", self.what));
    }

    /// Closes its stdin (EOF for the program).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Sends a signal by name ("INT", "TERM", ...).
    pub fn signal(&self, signal: &str) {
        send_signal(self.pid(), signal);
    }

    /// The next stdout line (with its `\n`, if any), waiting at most `timeout`. Returns None at
    /// EOF; panics on timeout with the stderr so far.
    pub fn read_line(&mut self, timeout: Duration) -> Option<Vec<u8>> {
        if self.eof {
            return None;
        }
        match self.lines.recv_timeout(timeout) {
            Ok(Some(l)) => Some(l),
            Ok(None) | Err(RecvTimeoutError::Disconnected) => {
                self.eof = true;
                None
            }
            Err(RecvTimeoutError::Timeout) => panic!(
                "no stdout line within {timeout:?} from {}\n--- stderr so far ---\n{}",
                self.what,
                tail(&self.stderr_string(), 100)
            ),
        }
    }

    /// Reads stdout lines until one contains `needle` (bounded by `timeout`); returns that line.
    pub fn wait_for_line(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                panic!(
                    "no stdout line containing {needle:?} within {timeout:?} from {}\n--- lines ---\n{}\n--- stderr ---\n{}",
                    self.what,
                    seen.join(""),
                    tail(&self.stderr_string(), 100)
                );
            }
            match self.read_line(left) {
                Some(l) => {
                    let s = String::from_utf8_lossy(&l).into_owned();
                    if s.contains(needle) {
                        return s;
                    }
                    seen.push(s);
                }
                None => panic!(
                    "EOF before a line containing {needle:?} from {}\n--- lines ---\n{}\n--- stderr ---\n{}",
                    self.what,
                    seen.join(""),
                    tail(&self.stderr_string(), 100)
                ),
            }
        }
    }

    /// Its stderr so far (lossy UTF-8).
    pub fn stderr_string(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }

    /// Closes stdin and waits (bounded) for the program to exit; returns its status and the
    /// stdout lines not read yet plus all of stderr. Panics (after killing it) on timeout.
    pub fn wait(mut self, timeout: Duration) -> Output {
        self.stdin = None;
        let deadline = Instant::now() + timeout;
        let mut stdout = Vec::new();
        while !self.eof {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(Some(l)) => stdout.extend_from_slice(&l),
                Ok(None) | Err(RecvTimeoutError::Disconnected) => self.eof = true,
                Err(RecvTimeoutError::Timeout) => break,
            }
        }
        let status = if self.eof {
            wait_child(
                &mut self.child,
                deadline.saturating_duration_since(Instant::now()),
            )
        } else {
            None
        };
        let Some(status) = status else {
            let _ = self.child.kill();
            let _ = self.child.wait();
            panic!(
                "{} did not exit within {timeout:?}; killed\n--- unread stdout ---\n{}\n--- stderr ---\n{}",
                self.what,
                String::from_utf8_lossy(&stdout),
                tail(&self.stderr_string(), 100)
            );
        };
        // The readers end at EOF, right after the exit; bounded in case a grandchild keeps a
        // pipe open.
        let join_deadline = Instant::now() + Duration::from_secs(2);
        while !self.threads.iter().all(|t| t.is_finished()) && Instant::now() < join_deadline {
            thread::sleep(Duration::from_millis(1));
        }
        let stderr = std::mem::take(&mut *self.stderr.lock().unwrap_or_else(|e| e.into_inner()));
        Output::from_status(status, stdout, stderr)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn collect_in_thread<R: Read + Send + 'static>(
    mut r: R,
    into: Arc<Mutex<Vec<u8>>>,
) -> JoinHandle<()> {
    thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match r.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => into
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend_from_slice(&buf[..n]),
            }
        }
    })
}

// ---------------------------------------------------------------------------------------------
// mosquitto_sub observer and mosquitto_pub
// ---------------------------------------------------------------------------------------------

/// One message as seen by an [`Observer`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Topic name.
    pub topic: String,
    /// Payload bytes, exactly (transported as hex).
    pub payload: Vec<u8>,
    /// QoS of the delivery (at most the subscription's QoS).
    pub qos: u8,
    /// Retain flag as delivered (set for a retained message sent on subscription).
    pub retain: bool,
}

/// Marker that starts a message line. Not a `-F` field character (`%`, `@`, `\`), and no debug
/// line of mosquitto_sub starts with it (they start with "Client " or "Subscribed").
const MSG_MARK: &str = "=msg=";
/// `-F` format: qos, retain flag, payload length, hex payload, then the topic last so that a
/// topic with spaces parses. (A topic containing a newline would break the line: don't.)
const SUB_FORMAT: &str = "=msg= %q %r %l %x %t";

enum SubEvent {
    Msg(Message),
    Other(String),
    Eof,
}

/// A `mosquitto_sub` process subscribed to some filters on a test broker, for checking what the
/// program under test publishes. Killed and reaped on drop.
pub struct Observer {
    child: Child,
    what: String,
    rx: Receiver<SubEvent>,
    pending: VecDeque<Message>,
    transcript: Vec<String>,
    stderr: Arc<Mutex<Vec<u8>>>,
    granted: Vec<u8>,
    broker_log: PathBuf,
    eof: bool,
}

impl Observer {
    /// Subscribes on the broker's plain listener: `mosquitto_sub -h 127.0.0.1 -p PORT -t F...
    /// -q QOS -v -d -F FORMAT EXTRA...` (run under `stdbuf -oL`), and returns once the SUBACK was
    /// received. `extra_args` come last, so they may override `-h`/`-p` or add `-u`/`-P`,
    /// `--cafile`, `-i`, `-V 5`... Panics (with its output and the broker log) if it exits or
    /// gets no SUBACK within 10 s.
    pub fn start(broker: &Broker, filters: &[&str], qos: u8, extra_args: &[&str]) -> Observer {
        Self::start_on(broker, broker.port(), filters, qos, extra_args)
    }

    /// Like [`Observer::start`] on another TCP listener of the broker, e.g.
    /// `Observer::start_on(&b, b.password_port(), &["#"], 1, &["-u", "alice", "-P", "secret"])`.
    pub fn start_on(
        broker: &Broker,
        port: u16,
        filters: &[&str],
        qos: u8,
        extra_args: &[&str],
    ) -> Observer {
        let mut cmd = Command::new("stdbuf");
        cmd.args(["-oL", "mosquitto_sub", "-h", "127.0.0.1", "-p"])
            .arg(port.to_string());
        for f in filters {
            cmd.arg("-t").arg(f);
        }
        cmd.arg("-q")
            .arg(qos.to_string())
            .args(["-v", "-d", "-F", SUB_FORMAT])
            .args(extra_args);
        let what = format!("{cmd:?}");
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {what}: {e} (needs coreutils' stdbuf and mosquitto-clients)")
            });
        let stdout = child.stdout.take().unwrap();
        let stderr = Arc::new(Mutex::new(Vec::new()));
        collect_in_thread(child.stderr.take().unwrap(), stderr.clone());
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let mut line = Vec::new();
                match r.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if line.last() == Some(&b'\n') {
                            line.pop();
                        }
                        let text = String::from_utf8_lossy(&line).into_owned();
                        let ev = match parse_sub_line(&line) {
                            Some(m) => SubEvent::Msg(m),
                            None => SubEvent::Other(text),
                        };
                        if tx.send(ev).is_err() {
                            return;
                        }
                    }
                }
            }
            let _ = tx.send(SubEvent::Eof);
        });
        let mut obs = Observer {
            child,
            what,
            rx,
            pending: VecDeque::new(),
            transcript: Vec::new(),
            stderr,
            granted: Vec::new(),
            broker_log: broker.log_path.clone(),
            eof: false,
        };
        obs.await_suback(Duration::from_secs(10));
        obs
    }

    fn await_suback(&mut self, timeout: Duration) {
        let mut deadline = Instant::now() + timeout;
        let mut suback = false;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(SubEvent::Other(line)) => {
                    // "Client (null) received SUBACK", then (same callback, unless --quiet)
                    // "Subscribed (mid: 1): 1, 128" with the granted QoS.
                    if line.starts_with("Client ") && line.ends_with(" received SUBACK") {
                        suback = true;
                        deadline = deadline.min(Instant::now() + Duration::from_secs(1));
                    }
                    let granted = line
                        .strip_prefix("Subscribed (mid: ")
                        .and_then(|r| r.split_once("): "));
                    self.transcript.push(line.clone());
                    if let Some((_, list)) = granted {
                        self.granted = list
                            .split(", ")
                            .filter_map(|q| q.trim().parse().ok())
                            .collect();
                        return;
                    }
                }
                Ok(SubEvent::Msg(m)) => self.pending.push_back(m),
                Ok(SubEvent::Eof) | Err(RecvTimeoutError::Disconnected) => {
                    self.eof = true;
                    self.fail("mosquitto_sub ended before its SUBACK")
                }
                // SUBACK seen but no "Subscribed" line (e.g. --quiet): granted stays unknown.
                Err(RecvTimeoutError::Timeout) if suback => return,
                Err(RecvTimeoutError::Timeout) => {
                    self.fail(&format!("no SUBACK within {timeout:?}"))
                }
            }
        }
    }

    /// QoS granted per filter in the SUBACK (128 = refused; mosquitto's `acl_file` never
    /// refuses, it grants and then delivers nothing).
    pub fn granted(&self) -> &[u8] {
        &self.granted
    }

    /// PID of the mosquitto_sub process.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits (at most `timeout`) until `n` more messages have arrived and returns them in order.
    /// Messages beyond `n` stay queued for the next call. Panics with what did arrive, the
    /// mosquitto_sub transcript and the broker log on timeout or if mosquitto_sub ends.
    pub fn wait_for(&mut self, n: usize, timeout: Duration) -> Vec<Message> {
        let deadline = Instant::now() + timeout;
        while self.pending.len() < n {
            if self.eof {
                self.fail(&format!(
                    "mosquitto_sub ended after {} of {n} messages",
                    self.pending.len()
                ));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(SubEvent::Msg(m)) => self.pending.push_back(m),
                Ok(SubEvent::Other(l)) => self.push_transcript(l),
                Ok(SubEvent::Eof) | Err(RecvTimeoutError::Disconnected) => self.eof = true,
                Err(RecvTimeoutError::Timeout) => self.fail(&format!(
                    "only {} of {n} messages within {timeout:?}",
                    self.pending.len()
                )),
            }
        }
        self.pending.drain(..n).collect()
    }

    /// Asserts that no further message arrives within `quiet` (the one place where a bounded
    /// wait is the assertion itself). Panics on any message, queued or new, and if
    /// mosquitto_sub ends (the assertion would then be vacuous).
    pub fn assert_no_more(&mut self, quiet: Duration) {
        if !self.pending.is_empty() {
            self.fail("unexpected message(s) already received");
        }
        let deadline = Instant::now() + quiet;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            match self.rx.recv_timeout(left) {
                Ok(SubEvent::Msg(m)) => {
                    self.pending.push_back(m);
                    self.fail("unexpected message");
                }
                Ok(SubEvent::Other(l)) => self.push_transcript(l),
                Ok(SubEvent::Eof) | Err(RecvTimeoutError::Disconnected) => {
                    self.eof = true;
                    self.fail("mosquitto_sub ended during assert_no_more");
                }
                Err(RecvTimeoutError::Timeout) => return,
            }
        }
    }

    /// Debug lines mosquitto_sub printed so far (CONNECT, SUBACK, PUBLISH, ...).
    pub fn transcript(&self) -> &[String] {
        &self.transcript
    }

    fn push_transcript(&mut self, line: String) {
        if self.transcript.len() >= 2000 {
            self.transcript.drain(..1000);
        }
        self.transcript.push(line);
    }

    fn fail(&mut self, why: &str) -> ! {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Drain what the reader thread still had.
        while let Ok(ev) = self.rx.recv_timeout(Duration::from_millis(200)) {
            match ev {
                SubEvent::Msg(m) => self.pending.push_back(m),
                SubEvent::Other(l) => self.transcript.push(l),
                SubEvent::Eof => break,
            }
        }
        let stderr =
            String::from_utf8_lossy(&self.stderr.lock().unwrap_or_else(|e| e.into_inner()))
                .into_owned();
        panic!(
            "Observer: {why}\ncommand: {}\nreceived: {:#?}\n--- mosquitto_sub transcript ---\n{}\n--- mosquitto_sub stderr ---\n{}\n--- broker log ---\n{}",
            self.what,
            self.pending,
            tail(&self.transcript.join("\n"), 60),
            tail(&stderr, 40),
            tail(&read_lossy(&self.broker_log), 80)
        );
    }
}

impl Drop for Observer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn parse_sub_line(line: &[u8]) -> Option<Message> {
    let rest = line.strip_prefix(MSG_MARK.as_bytes())?.strip_prefix(b" ")?;
    let text = std::str::from_utf8(rest).ok()?;
    let mut it = text.splitn(5, ' ');
    let qos: u8 = it.next()?.parse().ok()?;
    let retain = match it.next()? {
        "0" => false,
        "1" => true,
        _ => return None,
    };
    let len: usize = it.next()?.parse().ok()?;
    let hex = it.next()?;
    let topic = it.next()?.to_string();
    let payload = decode_hex(hex)?;
    if payload.len() != len {
        return None;
    }
    Some(Message {
        topic,
        payload,
        qos,
        retain,
    })
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    // A plain loop: the tests run unoptimised, and iterator adapters over megabytes of hex
    // (the large-message tests) took seconds of CPU from the timing-sensitive tests beside them.
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let hex = s.as_bytes();
    if hex.len() % 2 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(hex.len() / 2);
    let mut i = 0;
    while i < hex.len() {
        out.push(nibble(hex[i])? << 4 | nibble(hex[i + 1])?);
        i += 2;
    }
    Some(out)
}

/// Publishes one message with `mosquitto_pub` to the broker's plain listener (payload via stdin
/// with `-s`, or `-n` when empty) and waits for it to finish (QoS 1/2: acknowledged). `extra`
/// comes last, so it may override `-p`/`-h` or add `-u`/`-P`, `--cafile`, `-V 5`, `-D ...`.
/// Panics with its output and the broker log unless it exits 0 within 10 s.
pub fn mosquitto_pub(
    broker: &Broker,
    topic: &str,
    payload: &[u8],
    qos: u8,
    retain: bool,
    extra: &[&str],
) {
    let out = try_mosquitto_pub(broker, topic, payload, qos, retain, extra);
    if !out.success() {
        panic!(
            "mosquitto_pub to {topic:?} failed: {out:?}\n{}",
            broker.log_report()
        );
    }
}

/// Like [`mosquitto_pub`] but returns its [`Output`] whatever the exit status (for tests where
/// it must fail: wrong password, wrong CA...). Still panics on timeout.
pub fn try_mosquitto_pub(
    broker: &Broker,
    topic: &str,
    payload: &[u8],
    qos: u8,
    retain: bool,
    extra: &[&str],
) -> Output {
    let mut cmd = Command::new("mosquitto_pub");
    cmd.args(["-h", "127.0.0.1", "-p"])
        .arg(broker.port().to_string());
    cmd.arg("-t").arg(topic).arg("-q").arg(qos.to_string());
    if retain {
        cmd.arg("-r");
    }
    // `-s` refuses empty input ("Zero length input"); `-n` sends a zero-length payload.
    cmd.arg(if payload.is_empty() { "-n" } else { "-s" });
    cmd.args(extra);
    run(&mut cmd, payload, DEFAULT_TIMEOUT)
}

// ---------------------------------------------------------------------------------------------
// The binary under test
// ---------------------------------------------------------------------------------------------

/// Path of the `mqttc` binary Cargo built for these integration tests.
pub fn mqttc_bin() -> PathBuf {
    // `env!` would not compile outside the mqttc crate; Cargo sets it for mqttc's tests.
    match option_env!("CARGO_BIN_EXE_mqttc") {
        Some(p) => PathBuf::from(p),
        None => {
            panic!("CARGO_BIN_EXE_mqttc is not set: only mqttc's own integration tests have it")
        }
    }
}

/// A `Command` for `mqttc`, with no arguments, and an environment reduced by
/// [`clean_env`] (so `MQTTC_*` variables of the developer's shell never reach a test).
pub fn mqttc_cmd() -> Command {
    let mut cmd = Command::new(mqttc_bin());
    clean_env(&mut cmd);
    cmd
}

/// Clears the environment of `cmd` and puts back only `PATH`, `HOME` and `LANG=C`.
pub fn clean_env(cmd: &mut Command) -> &mut Command {
    cmd.env_clear();
    for key in ["PATH", "HOME"] {
        if let Some(v) = std::env::var_os(key) {
            cmd.env(key, v);
        }
    }
    cmd.env("LANG", "C")
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

fn write_file(path: &Path, content: &str) -> Result<(), String> {
    fs::write(path, content).map_err(|e| format!("write {}: {e}", path.display()))
}

fn file_len(path: &Path) -> u64 {
    fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn read_lossy(path: &Path) -> String {
    read_lossy_from(path, 0)
}

fn read_lossy_from(path: &Path, offset: u64) -> String {
    let Ok(mut f) = File::open(path) else {
        return String::new();
    };
    let mut buf = Vec::new();
    use std::io::{Seek, SeekFrom};
    if f.seek(SeekFrom::Start(offset)).is_err() {
        return String::new();
    }
    let _ = f.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// The last `n` lines of `s`.
fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    let start = lines.len().saturating_sub(n);
    let mut out = String::new();
    if start > 0 {
        out.push_str(&format!("[... {start} earlier lines ...]\n"));
    }
    out.push_str(&lines[start..].join("\n"));
    out
}
