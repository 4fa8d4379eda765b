//! RPC to a service by name.
//!
//! Picks the live instance with the fewest calls in flight on our own
//! connection to it (ties broken by the load it reports in the registry), and
//! keeps one multiplexed connection per instance open for reuse. A call that
//! certainly never reached an instance (connect refused, no instance) moves on
//! to the next candidate; a call that may have run is never repeated here,
//! because only the caller knows whether its method is safe to repeat.

use crate::Directory;
use proto::pb::Response;
use proto::{Connection, RpcError};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone)]
pub struct ServiceClient {
    directory: Directory,
    service: String,
    pool: Arc<Mutex<HashMap<SocketAddr, Connection>>>,
    connect_timeout: Duration,
}

impl ServiceClient {
    pub fn new(directory: Directory, service: &str) -> ServiceClient {
        ServiceClient {
            directory,
            service: service.to_string(),
            pool: Arc::new(Mutex::new(HashMap::new())),
            connect_timeout: Duration::from_millis(500),
        }
    }

    pub fn service(&self) -> &str {
        &self.service
    }

    /// Live instance addresses, least loaded first.
    fn candidates(&self) -> Vec<SocketAddr> {
        let snap = self.directory.snapshot();
        let pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        let mut c: Vec<(usize, u64, SocketAddr)> = snap
            .instances(&self.service)
            .iter()
            .filter_map(|r| r.addr.parse::<SocketAddr>().ok().map(|a| (r.load, a)))
            .map(|(load, a)| (pool.get(&a).map(|c| c.in_flight()).unwrap_or(0), load, a))
            .collect();
        c.sort();
        c.into_iter().map(|(_, _, a)| a).collect()
    }

    fn connection(&self, addr: SocketAddr) -> Result<Connection, RpcError> {
        let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = pool.get(&addr) {
            if !c.is_dead() {
                return Ok(c.clone());
            }
        }
        pool.remove(&addr);
        // Dialing under the lock keeps concurrent callers from opening a
        // connection each; the connect timeout bounds the wait.
        let c = Connection::connect(addr, self.connect_timeout, proto::frame::DEFAULT_MAX_MESSAGE)?;
        pool.insert(addr, c.clone());
        Ok(c)
    }

    pub fn call(
        &self,
        method: &str,
        request_id: &str,
        timeout: Duration,
        payload: Vec<u8>,
    ) -> Result<Response, RpcError> {
        let mut last = RpcError::NoInstance(self.service.clone());
        for addr in self.candidates().into_iter().take(3) {
            let conn = match self.connection(addr) {
                Ok(c) => c,
                Err(e) => {
                    log::warn!(target: "rpc", "{} at {addr}: {e}", self.service);
                    last = e;
                    continue;
                }
            };
            return conn.call(method, request_id, timeout, payload);
        }
        Err(last)
    }

    pub fn unary<Req: prost::Message, Resp: prost::Message + Default>(
        &self,
        method: &str,
        request_id: &str,
        timeout: Duration,
        req: &Req,
    ) -> Result<Resp, RpcError> {
        let resp = self.call(method, request_id, timeout, req.encode_to_vec())?;
        proto::rpc_client::decode_reply(resp)
    }
}
