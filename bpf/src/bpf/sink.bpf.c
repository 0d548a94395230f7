// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Counts our frames and drops them (or passes them, cfg_pass): the in-kernel receive ceiling. */
#include "parse.h"

const volatile __u8 cfg_pass = 0;

SEC("xdp")
int sink(struct xdp_md *ctx)
{
	struct vb_counters *c = this_cpu_counters();
	void *l3;
	int is_v6;

	if (!c || !count_and_match(ctx, c, &l3, &is_v6))
		return XDP_PASS;
	if (cfg_pass) {
		c->passed++;
		return XDP_PASS;
	}
	c->dropped++;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
