//! Network lens against the local emulator: converge, converge again with zero writes, drift, plan, NAT mode,
//! destroy twice, and crash-anywhere convergence. One binary (faster to link); the tests share one emulator
//! and stay out of each other's way by stack name and by access key (the recorder counts per key).

mod crash;
mod harness;
mod network;
