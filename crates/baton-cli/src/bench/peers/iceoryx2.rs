//! iceoryx2 request-response, the way its docs pair it with events for a
//! program that must not poll: the client loans a request of `size` bytes
//! in shared memory, sends it and notifies the server through an event
//! service, then sleeps on a second event service until the server notifies
//! it that the response is there. The server sleeps on the first event
//! service, takes the request, loans and sends the response and notifies.
//! Both sides sleep in the kernel (an iceoryx2 `Listener` blocking wait);
//! neither spins.
//!
//! Every run gets its own iceoryx2 root directory and shared-memory prefix,
//! both named after the run's tag and the bench parent's process id. The
//! parent removes them after the run (iceoryx2's own cleanup of dead nodes
//! first, for peers that were killed), and before a run it removes what a
//! bench parent that died left behind, so nothing piles up in /tmp or
//! /dev/shm and no run depends on an earlier one.

use super::{Client, Endpoint, Pair, Peer, Server, Work};
use ::iceoryx2::port::client::Client as RequestClient;
use ::iceoryx2::port::listener::Listener;
use ::iceoryx2::port::notifier::Notifier;
use ::iceoryx2::port::server::Server as RequestServer;
use ::iceoryx2::prelude::*;
use ::iceoryx2::service::port_factory::event;
use std::fmt::Debug;
use std::io;
use std::path::PathBuf;

/// iceoryx2 request-response, woken through iceoryx2 events.
#[derive(Debug)]
pub struct Iceoryx2;

/// What a run's files are named after: `ROOT` + "<parent pid>-<tag>" in the
/// temporary directory (iceoryx2's root), `PREFIX` + the same in /dev/shm.
const ROOT: &str = "baton-bench-iceoryx2-";
const PREFIX: &str = "baton_iox2_";
/// Where POSIX shared memory objects live on Linux.
const SHM_DIR: &str = "/dev/shm";

/// The service payloads: a byte slice each way, no user header.
type Request = RequestClient<ipc::Service, [u8], (), [u8], ()>;
type Response = RequestServer<ipc::Service, [u8], (), [u8], ()>;

/// Turns an iceoryx2 result into an I/O one that says what failed.
trait Check<T> {
    fn check(self, what: &str) -> io::Result<T>;
}

impl<T, E: Debug> Check<T> for Result<T, E> {
    fn check(self, what: &str) -> io::Result<T> {
        self.map_err(|e| io::Error::other(format!("iceoryx2: {what}: {e:?}")))
    }
}

/// A run's private iceoryx2 configuration: its own root directory and
/// shared-memory prefix; everything else iceoryx2's defaults (not any
/// config file on the machine).
fn config(run: &str) -> io::Result<Config> {
    let mut config = Config::default();
    let root = format!("{}/", root(run).display());
    config.global.set_root_path(&Path::new(root.as_bytes()).check("root path")?);
    config.global.prefix = FileName::new(format!("{PREFIX}{run}_").as_bytes()).check("prefix")?;
    Ok(config)
}

fn root(run: &str) -> PathBuf {
    std::env::temp_dir().join(format!("{ROOT}{run}"))
}

/// The node of one side, in the run's configuration.
fn node(run: &str) -> io::Result<Node<ipc::Service>> {
    NodeBuilder::new()
        // The bench parent ends peers with SIGKILL; iceoryx2 need not catch signals.
        .signal_handling_mode(SignalHandlingMode::Disabled)
        .config(&config(run)?)
        .create::<ipc::Service>()
        .check("node")
}

fn service_name(run: &str, what: &str) -> io::Result<ServiceName> {
    ServiceName::new(&format!("baton-bench/{run}/{what}")).check("service name")
}

/// The event service `what` ("request" or "response"): one side notifies
/// it, the other listens.
fn event(node: &Node<ipc::Service>, run: &str, what: &str) -> io::Result<event::PortFactory<ipc::Service>> {
    node.service_builder(&service_name(run, what)?).event().open_or_create().check("event service")
}

impl Peer for Iceoryx2 {
    fn prepare(&self, _size: usize, tag: &str) -> io::Result<Pair> {
        sweep_dead_parents();
        let run = format!("{}-{tag}", std::process::id());
        std::fs::create_dir_all(root(&run))?;
        let files = RunFiles { run: run.clone() };
        Ok(Pair {
            server: Endpoint { name: Some(run.clone()), held: Some(Box::new(files)), ..Endpoint::default() },
            client: Endpoint { name: Some(run), ..Endpoint::default() },
        })
    }

    fn server(&self, end: Endpoint, size: usize) -> io::Result<Box<dyn Server>> {
        let run = end.name()?;
        let node = node(run)?;
        let service = node
            .service_builder(&service_name(run, "echo")?)
            .request_response::<[u8], [u8]>()
            .open_or_create()
            .check("request-response service")?;
        let server = service.server_builder().initial_max_slice_len(size).create().check("server")?;
        let requests = event(&node, run, "request")?.listener_builder().create().check("listener")?;
        let responses = event(&node, run, "response")?.notifier_builder().create().check("notifier")?;
        Ok(Box::new(IoxServer { server, requests, responses, _node: node }))
    }

    fn client(&self, end: Endpoint, size: usize) -> io::Result<Box<dyn Client>> {
        let run = end.name()?;
        let node = node(run)?;
        let service = node
            .service_builder(&service_name(run, "echo")?)
            .request_response::<[u8], [u8]>()
            .open()
            .check("request-response service")?;
        let client = service.client_builder().initial_max_slice_len(size).create().check("client")?;
        let requests = event(&node, run, "request")?.notifier_builder().create().check("notifier")?;
        let responses = event(&node, run, "response")?.listener_builder().create().check("listener")?;
        Ok(Box::new(IoxClient { client, requests, responses, _node: node }))
    }
}

/// The client side: its request-response port, the notifier that wakes the
/// server, the listener the server's notifications wake.
struct IoxClient {
    client: Request,
    requests: Notifier<ipc::Service>,
    responses: Listener<ipc::Service>,
    _node: Node<ipc::Service>,
}

impl Client for IoxClient {
    fn round_trip(&mut self, msg: &[u8], reply: &mut [u8]) -> io::Result<()> {
        let request = self.client.loan_slice_uninit(msg.len()).check("loan a request")?;
        let pending = request.write_from_slice(msg).send().check("send the request")?;
        self.requests.notify().check("notify the server")?;
        loop {
            // One notification per response: wait for it, then take the
            // response (a wake-up without one, e.g. on a signal, waits again).
            self.responses.blocking_wait_one().check("wait for the response")?;
            if let Some(response) = pending.receive().check("receive the response")? {
                let got = response.payload();
                if got.len() != reply.len() {
                    return Err(io::Error::other(format!(
                        "iceoryx2 replied {} bytes, expected {}",
                        got.len(),
                        reply.len()
                    )));
                }
                reply.copy_from_slice(got);
                return Ok(());
            }
        }
    }
}

/// The server side: its request-response port, the listener the client's
/// notifications wake, the notifier that wakes the client.
struct IoxServer {
    server: Response,
    requests: Listener<ipc::Service>,
    responses: Notifier<ipc::Service>,
    _node: Node<ipc::Service>,
}

impl Server for IoxServer {
    fn echo(&mut self, buf: &mut [u8], work: Work) -> io::Result<()> {
        loop {
            self.requests.blocking_wait_one().check("wait for a request")?;
            let Some(request) = self.server.receive().check("receive a request")? else { continue };
            let got = request.payload();
            if got.len() != buf.len() {
                return Err(io::Error::other(format!(
                    "iceoryx2 delivered {} bytes, expected {}",
                    got.len(),
                    buf.len()
                )));
            }
            buf.copy_from_slice(got);
            work.run(buf);
            let response = request.loan_slice_uninit(buf.len()).check("loan the response")?;
            response.write_from_slice(buf).send().check("send the response")?;
            // Done with the request before the client may send the next.
            drop(request);
            self.responses.notify().check("notify the client")?;
            return Ok(());
        }
    }
}

/// A run's iceoryx2 files, removed when the parent drops this after the run.
#[derive(Debug)]
struct RunFiles {
    run: String,
}

impl Drop for RunFiles {
    fn drop(&mut self) {
        remove_run(&self.run);
    }
}

/// Removes run `run`'s iceoryx2 state: first through iceoryx2 (the nodes of
/// peers that were killed, and their services), then whatever is left
/// under its root directory and prefix.
fn remove_run(run: &str) {
    if let Ok(config) = config(run) {
        Node::<ipc::Service>::try_cleanup_dead_nodes(&config);
    }
    let _ = std::fs::remove_dir_all(root(run));
    let prefix = format!("{PREFIX}{run}_");
    remove_matching(SHM_DIR.as_ref(), |name| name.starts_with(&prefix));
}

/// Removes the runs of bench parents that are gone (killed before they
/// could clean up): their process id is in the run's name.
fn sweep_dead_parents() {
    let dead = |run: &str| {
        let pid = run.split('-').next().unwrap_or_default();
        !pid.is_empty() && !std::path::Path::new("/proc").join(pid).exists()
    };
    let tmp = std::env::temp_dir();
    for run in names(&tmp).iter().filter_map(|n| n.strip_prefix(ROOT)).filter(|r| dead(r)) {
        remove_run(run);
    }
    // Shared memory whose root directory is already gone.
    remove_matching(SHM_DIR.as_ref(), |name| name.strip_prefix(PREFIX).is_some_and(dead));
}

/// The names in `dir` (none if it cannot be read).
fn names(dir: &std::path::Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect()
}

/// Removes the files in `dir` whose names `pick` picks.
fn remove_matching(dir: &std::path::Path, pick: impl Fn(&str) -> bool) {
    for name in names(dir).iter().filter(|n| pick(n)) {
        let _ = std::fs::remove_file(dir.join(name));
    }
}
