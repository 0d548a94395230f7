/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Header parsing shared by the programs: finds the UDP header of an IPv4 or IPv6 frame. */
#ifndef VETHBENCH_PARSE_H
#define VETHBENCH_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "vethbench.h"

/* UDP destination port that marks our frames; 0 matches every UDP frame. Set before load. */
const volatile __u16 cfg_udp_port = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vb_counters);
} counters SEC(".maps");

static __always_inline struct vb_counters *this_cpu_counters(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&counters, &zero);
}

/* Returns the UDP header of one of our frames, or NULL. Sets *l3 and *is_v6 for the caller. */
static __always_inline struct udphdr *our_udp(void *data, void *data_end, void **l3, int *is_v6)
{
	struct ethhdr *eth = data;
	struct udphdr *udp;

	if ((void *)(eth + 1) > data_end)
		return NULL;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > data_end || ip->protocol != IPPROTO_UDP || ip->ihl < 5)
			return NULL;
		udp = (void *)ip + ip->ihl * 4;
		*l3 = ip;
		*is_v6 = 0;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end || ip6->nexthdr != IPPROTO_UDP)
			return NULL;
		udp = (void *)(ip6 + 1);
		*l3 = ip6;
		*is_v6 = 1;
	} else {
		return NULL;
	}
	if ((void *)(udp + 1) > data_end)
		return NULL;
	if (cfg_udp_port && udp->dest != bpf_htons(cfg_udp_port))
		return NULL;
	return udp;
}

/* The common start of every program: count the frame, and return its UDP header if it is one of
 * ours (counted as matched) or NULL (counted as passed; the caller returns XDP_PASS). */
static __always_inline struct udphdr *count_and_match(struct xdp_md *ctx, struct vb_counters *c,
						      void **l3, int *is_v6)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct udphdr *udp;

	c->rx_packets++;
	c->rx_bytes += data_end - data;
	udp = our_udp(data, data_end, l3, is_v6);
	if (!udp) {
		c->passed++;
		return NULL;
	}
	c->matched++;
	return udp;
}

#endif
