//! A local front on 127.0.0.1 standing in for the ALB listener, and the blue/green swap.
//!
//! The front is a small HTTP/1.1 proxy: it reads one request, picks the live upstream *per request* (as an
//! ALB listener rule does), forwards it with `Connection: close` and relays the answer. Moving the front to
//! green is one atomic store; requests already in flight to blue finish (the deregistration delay), and blue
//! is stopped only when none is left.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::engine::Engine;
use crate::error::{Result, io};
use crate::runner::{self, LocalSettings, Running};
use crate::taskdef::TaskDefinition;

const MAX_HEAD: usize = 64 * 1024;

#[derive(Debug, Default)]
struct State {
    upstream: AtomicU16,
    /// In-flight requests per upstream port (index by port is too big; keep the two live ones).
    inflight: std::sync::Mutex<std::collections::HashMap<u16, Arc<AtomicUsize>>>,
    served: AtomicU64,
    bad_gateway: AtomicU64,
}

impl State {
    fn counter(&self, port: u16) -> Arc<AtomicUsize> {
        self.inflight.lock().expect("inflight lock").entry(port).or_default().clone()
    }
}

/// The running front. Dropping it stops accepting.
#[derive(Debug)]
pub struct Front {
    addr: SocketAddr,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Front {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Front {
    /// Listens on `127.0.0.1:port` (0: a free port) and forwards to `127.0.0.1:upstream`.
    pub async fn start(port: u16, upstream: u16) -> Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(io(format!("binding the front on 127.0.0.1:{port}")))?;
        let addr = listener.local_addr().map_err(io("front address"))?;
        let state = Arc::new(State::default());
        state.upstream.store(upstream, Ordering::SeqCst);
        let st = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((conn, _)) = listener.accept().await else {
                    continue;
                };
                let st = st.clone();
                tokio::spawn(async move {
                    let _ = handle(conn, st).await;
                });
            }
        });
        Ok(Self { addr, state, task })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn upstream(&self) -> u16 {
        self.state.upstream.load(Ordering::SeqCst)
    }

    /// Moves the front: every request from now on goes to `port`.
    pub fn set_upstream(&self, port: u16) {
        self.state.upstream.store(port, Ordering::SeqCst);
    }

    /// Requests still in flight to `port`.
    pub fn inflight(&self, port: u16) -> usize {
        self.state.counter(port).load(Ordering::SeqCst)
    }

    /// (requests relayed, answered 502 because the upstream refused the connection)
    pub fn counts(&self) -> (u64, u64) {
        (self.state.served.load(Ordering::SeqCst), self.state.bad_gateway.load(Ordering::SeqCst))
    }

    /// Waits until no request is in flight to `port` (bounded): the deregistration delay.
    pub async fn drain(&self, port: u16, max: Duration) -> bool {
        let t = Instant::now();
        while self.inflight(port) > 0 {
            if t.elapsed() > max {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        true
    }
}

async fn respond(client: &mut TcpStream, status: &str) -> std::io::Result<()> {
    let msg = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    client.write_all(msg.as_bytes()).await?;
    client.shutdown().await
}

async fn handle(mut client: TcpStream, state: Arc<State>) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(4096);
    let head_end = loop {
        let mut chunk = [0u8; 4096];
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        if buf.len() > MAX_HEAD {
            return respond(&mut client, "431 Request Header Fields Too Large").await;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_string();
    let mut out = format!("{request_line}\r\n");
    let mut body_len = 0usize;
    for line in lines.filter(|l| !l.is_empty()) {
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        let lname = name.trim().to_ascii_lowercase();
        match lname.as_str() {
            "connection" | "keep-alive" | "proxy-connection" => continue,
            "transfer-encoding" => {
                return respond(&mut client, "501 Not Implemented").await;
            }
            "content-length" => body_len = value.trim().parse().unwrap_or(0),
            _ => {}
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");

    let port = state.upstream.load(Ordering::SeqCst);
    let counter = state.counter(port);
    counter.fetch_add(1, Ordering::SeqCst);
    let res = async {
        let mut up = match TcpStream::connect(("127.0.0.1", port)).await {
            Ok(up) => up,
            Err(_) => {
                state.bad_gateway.fetch_add(1, Ordering::SeqCst);
                return respond(&mut client, "502 Bad Gateway").await;
            }
        };
        up.write_all(out.as_bytes()).await?;
        let already = buf.len() - head_end;
        up.write_all(&buf[head_end..]).await?;
        let rest = body_len.saturating_sub(already) as u64;
        if rest > 0 {
            tokio::io::copy(&mut (&mut client).take(rest), &mut up).await?;
        }
        tokio::io::copy(&mut up, &mut client).await?;
        state.served.fetch_add(1, Ordering::SeqCst);
        client.shutdown().await
    }
    .await;
    counter.fetch_sub(1, Ordering::SeqCst);
    res
}

/// What a swap did.
#[derive(Debug, Clone)]
pub struct SwapReport {
    pub green: Running,
    pub green_ready_s: f64,
    pub drained: bool,
    pub blue_stopped: bool,
}

/// Blue/green: start green (same task definition, same content folder), wait until it answers, move the
/// front to it, let blue's in-flight requests finish, stop blue.
pub async fn swap(
    engine: &Engine,
    front: &Front,
    td: &TaskDefinition,
    blue: &str,
    green: &LocalSettings,
    ready_within: Duration,
) -> Result<SwapReport> {
    let g = runner::ensure_container(engine, td, green).await?.into_id();
    let ready = runner::wait_ready(engine, &g, ready_within).await?;
    let old = front.upstream();
    front.set_upstream(g.port);
    let drained = front.drain(old, Duration::from_secs(30)).await;
    let blue_stopped = runner::stop_container(engine, blue).await?;
    Ok(SwapReport { green: g, green_ready_s: ready.as_secs_f64(), drained, blue_stopped })
}

/// What a [`RequestLoop`] saw.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct LoopReport {
    pub ok: u64,
    pub failed: u64,
    /// The first failures (URL and status or error), for the message when `failed > 0`.
    pub errors: Vec<String>,
}

/// Readers of the blog during a release: GETs through the front, round-robin over `urls`, one every `every`,
/// each failure (a non-2xx answer or a transport error) counted and kept.
#[derive(Debug)]
pub struct RequestLoop {
    stop: Arc<std::sync::atomic::AtomicBool>,
    ok: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<Vec<String>>,
}

impl RequestLoop {
    pub fn start(urls: Vec<String>, every: Duration) -> Self {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let task = {
            let (stop, ok, failed) = (stop.clone(), ok.clone(), failed.clone());
            tokio::spawn(async move {
                let http = reqwest::Client::builder()
                    .no_proxy()
                    .timeout(Duration::from_secs(20))
                    .build()
                    .expect("http client");
                let mut errors = Vec::new();
                for u in urls.iter().cycle() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let problem = match http.get(u).send().await {
                        Ok(r) if r.status().is_success() => None,
                        Ok(r) => Some(format!("{u}: HTTP {}", r.status())),
                        Err(e) => Some(format!("{u}: {e}")),
                    };
                    match problem {
                        None => ok.fetch_add(1, Ordering::SeqCst),
                        Some(p) => {
                            if errors.len() < 20 {
                                errors.push(p);
                            }
                            failed.fetch_add(1, Ordering::SeqCst)
                        }
                    };
                    tokio::time::sleep(every).await;
                }
                errors
            })
        };
        Self { stop, ok, failed, task }
    }

    /// Requests answered so far (ok + failed).
    pub fn sent(&self) -> u64 {
        self.ok.load(Ordering::SeqCst) + self.failed.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` requests were answered.
    pub async fn until(&self, n: u64) {
        while self.sent() < n {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn stop(self) -> LoopReport {
        self.stop.store(true, Ordering::SeqCst);
        let errors = self.task.await.unwrap_or_else(|e| vec![format!("request loop panicked: {e}")]);
        LoopReport { ok: self.ok.load(Ordering::SeqCst), failed: self.failed.load(Ordering::SeqCst), errors }
    }
}
