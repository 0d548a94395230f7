// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Hands our frames to the AF_XDP socket of the receiving queue; everything else (ARP, ND, other
 * traffic) goes to the kernel stack. */
#include "parse.h"

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

SEC("xdp")
int xsk_redirect(struct xdp_md *ctx)
{
	struct vb_counters *c = this_cpu_counters();
	void *l3;
	int is_v6, action;

	if (!c || !count_and_match(ctx, c, &l3, &is_v6))
		return XDP_PASS;
	/* Without a socket on this queue the frame goes to the stack instead of vanishing. */
	action = bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
	if (action == XDP_REDIRECT)
		c->redirected++;
	else
		c->passed++;
	return action;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
