// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Counts our frames and drops them (or passes them, cfg_pass): the in-kernel receive ceiling. */
#include "parse.h"

const volatile __u8 cfg_pass = 0;

SEC("xdp")
int sink(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct vb_counters *c = this_cpu_counters();
	void *l3;
	int is_v6;

	if (!c)
		return XDP_PASS;
	c->rx_packets++;
	c->rx_bytes += data_end - data;
	if (!our_udp(data, data_end, &l3, &is_v6)) {
		c->passed++;
		return XDP_PASS;
	}
	c->matched++;
	if (cfg_pass) {
		c->passed++;
		return XDP_PASS;
	}
	c->dropped++;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
