// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Sends our frames straight back (XDP_TX) with MACs, IP addresses and UDP ports swapped: the
 * in-kernel reflector that gives the latency floor without user space. Swapping keeps every
 * checksum valid (the sums do not change). */
#include "parse.h"

static __always_inline void swap_bytes(__u8 *a, __u8 *b, int n)
{
#pragma unroll
	for (int i = 0; i < 16; i++) {
		if (i < n) {
			__u8 t = a[i];
			a[i] = b[i];
			b[i] = t;
		}
	}
}

SEC("xdp")
int reflect(struct xdp_md *ctx)
{
	struct vb_counters *c = this_cpu_counters();
	struct ethhdr *eth = (void *)(long)ctx->data;
	struct udphdr *udp;
	void *l3;
	int is_v6;
	__u16 port;

	if (!c)
		return XDP_PASS;
	udp = count_and_match(ctx, c, &l3, &is_v6);
	if (!udp)
		return XDP_PASS;
	swap_bytes(eth->h_source, eth->h_dest, ETH_ALEN);
	if (is_v6) {
		struct ipv6hdr *ip6 = l3;
		struct in6_addr t = ip6->saddr;

		ip6->saddr = ip6->daddr;
		ip6->daddr = t;
	} else {
		struct iphdr *ip = l3;
		__be32 t = ip->saddr;

		ip->saddr = ip->daddr;
		ip->daddr = t;
	}
	port = udp->source;
	udp->source = udp->dest;
	udp->dest = port;
	c->tx++;
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
