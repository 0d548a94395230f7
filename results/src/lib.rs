//! Placeholder: filled by the AF_XDP, baselines and results issues. It exists so the workspace pins
//! the whole dependency graph (see ../shared/facts.md) from the start.
