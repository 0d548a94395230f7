/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Shared by the XDP programs and by bpf/src/counters.rs (which mirrors the layout). */
#ifndef VETHBENCH_H
#define VETHBENCH_H

#include <linux/types.h>

/* Per-CPU counters, one cache line, so CPUs never share a line. */
struct vb_counters {
	__u64 rx_packets; /* frames the program saw */
	__u64 rx_bytes;   /* their bytes */
	__u64 matched;    /* frames of ours (UDP to cfg_udp_port) */
	__u64 redirected; /* handed to an AF_XDP socket (XDP_REDIRECT) */
	__u64 passed;     /* given to the kernel stack (XDP_PASS) */
	__u64 dropped;    /* dropped on purpose (XDP_DROP) */
	__u64 tx;         /* sent back out (XDP_TX) */
	__u64 pad;
} __attribute__((aligned(64)));

#endif
