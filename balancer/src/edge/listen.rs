//! Listening sockets, and the second event loop of a replicated balancer.
//!
//! Two balancers on one host share the public port with `SO_REUSEPORT`: each
//! binds its own socket to the same address and the kernel spreads incoming
//! connections across them; when one dies, its socket leaves the group and
//! new connections go to the survivor. The option must be set between
//! `socket` and `bind`, which `std` does not expose, hence the few libc calls
//! here. (With `net.ipv4.tcp_migrate_req = 1`, Linux also moves connections
//! still queued on a closing listener to a live one, so a graceful stop of
//! one balancer loses none; start_all.sh sets it.)
//!
//! Each balancer also listens on a port of its own (`--listen`), so that an
//! operator, a health checker or a test can reach one in particular. Each
//! address gets one socket per process, watched by every event loop
//! (`loops.rs`), so all loops serve both; they share the upstream, its
//! connections and its health view.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::FromRawFd;

const BACKLOG: libc::c_int = 1024;

/// bind(2) to `addr`, a `sockaddr_in` or a `sockaddr_in6` (the only two
/// callers).
fn bind_to<T>(fd: libc::c_int, addr: &T) -> io::Result<()> {
    // SAFETY: `addr` is a valid socket address of the size given.
    check(unsafe { libc::bind(fd, (addr as *const T).cast(), std::mem::size_of::<T>() as libc::socklen_t) })?;
    Ok(())
}

fn check(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// A non-blocking listener on `addr`; with `reuse_port`, shareable with
/// other processes that set it too.
pub fn bind(addr: SocketAddr, reuse_port: bool) -> io::Result<mio::net::TcpListener> {
    let family = if addr.is_ipv4() { libc::AF_INET } else { libc::AF_INET6 };
    // SAFETY: plain socket(2); the descriptor is owned by `listener` below
    // before anything can fail.
    let fd = check(unsafe { libc::socket(family, libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK, 0) })?;
    // SAFETY: `fd` is a fresh socket we own.
    let listener = unsafe { TcpListener::from_raw_fd(fd) };
    let one: libc::c_int = 1;
    let set = |opt: libc::c_int| {
        // SAFETY: `one` outlives the call and its size is passed.
        check(unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                opt,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        })
    };
    // Restarting on a port with connections in TIME_WAIT must work, as std does.
    set(libc::SO_REUSEADDR)?;
    if reuse_port {
        set(libc::SO_REUSEPORT)?;
    }
    match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr { s_addr: u32::from_ne_bytes(a.ip().octets()) },
                sin_zero: [0; 8],
            };
            bind_to(fd, &sin)?;
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr { s6_addr: a.ip().octets() },
                sin6_scope_id: a.scope_id(),
            };
            bind_to(fd, &sin6)?;
        }
    }
    // SAFETY: listen(2) on our bound socket.
    check(unsafe { libc::listen(fd, BACKLOG) })?;
    Ok(mio::net::TcpListener::from_std(listener))
}

#[cfg(test)]
#[path = "../../tests/unit/edge/listen.rs"]
mod tests;
