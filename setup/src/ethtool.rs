//! Link offloads through ethtool netlink. The `ethtool` crate reads features (`ethtool -k`) but
//! cannot set them (its feature emitter is unimplemented in 0.3), so ETHTOOL_MSG_FEATURES_SET is
//! built here, sent through the crate's generic netlink handle.

use futures::StreamExt;
use netlink_packet_generic::{GenlFamily, GenlHeader, GenlMessage};
use rtnetlink::packet_core::{
    DecodeError, Emitable, NetlinkMessage, NetlinkPayload, Nla, ParseableParametrized,
    NLA_F_NESTED, NLM_F_ACK, NLM_F_REQUEST,
};

use crate::SetupError;

/// ethtool feature name of generic receive offload.
pub const GRO: &str = "rx-gro";
/// ethtool feature name of veth's transmit checksum offload (NETIF_F_HW_CSUM).
pub const TX_CSUM: &str = "tx-checksum-ip-generic";

const ETHTOOL_GENL_VERSION: u8 = 1;
const ETHTOOL_MSG_FEATURES_SET: u8 = 12;
const ETHTOOL_A_FEATURES_HEADER: u16 = 1;
const ETHTOOL_A_FEATURES_WANTED: u16 = 3;
const ETHTOOL_A_HEADER_DEV_NAME: u16 = 2;
const ETHTOOL_A_HEADER_FLAGS: u16 = 3;
const ETHTOOL_FLAG_OMIT_REPLY: u32 = 1 << 1;
const ETHTOOL_A_BITSET_BITS: u16 = 3;
const ETHTOOL_A_BITSET_BITS_BIT: u16 = 1;
const ETHTOOL_A_BITSET_BIT_NAME: u16 = 2;
const ETHTOOL_A_BITSET_BIT_VALUE: u16 = 3;

/// A netlink attribute tree, enough for FEATURES_SET.
#[derive(Debug)]
enum Attr {
    U32(u16, u32),
    /// NUL-terminated string.
    Str(u16, String),
    Flag(u16),
    Nested(u16, Vec<Attr>),
}

impl Nla for Attr {
    fn value_len(&self) -> usize {
        match self {
            Attr::U32(..) => 4,
            Attr::Str(_, s) => s.len() + 1,
            Attr::Flag(_) => 0,
            Attr::Nested(_, attrs) => attrs.as_slice().buffer_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            Attr::U32(k, _) | Attr::Str(k, _) | Attr::Flag(k) => *k,
            Attr::Nested(k, _) => *k | NLA_F_NESTED,
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            Attr::U32(_, v) => buffer[..4].copy_from_slice(&v.to_ne_bytes()),
            Attr::Str(_, s) => {
                buffer[..s.len()].copy_from_slice(s.as_bytes());
                buffer[s.len()] = 0;
            }
            Attr::Flag(_) => {}
            Attr::Nested(_, attrs) => attrs.as_slice().emit(buffer),
        }
    }
}

/// ETHTOOL_MSG_FEATURES_SET for one device, changing only the named bits.
#[derive(Debug)]
struct FeaturesSet(Vec<Attr>);

impl FeaturesSet {
    fn new(dev: &str, bits: &[(&str, bool)]) -> Self {
        let bits = bits
            .iter()
            .map(|(name, on)| {
                let mut bit = vec![Attr::Str(ETHTOOL_A_BITSET_BIT_NAME, name.to_string())];
                if *on {
                    bit.push(Attr::Flag(ETHTOOL_A_BITSET_BIT_VALUE));
                }
                Attr::Nested(ETHTOOL_A_BITSET_BITS_BIT, bit)
            })
            .collect();
        FeaturesSet(vec![
            Attr::Nested(
                ETHTOOL_A_FEATURES_HEADER,
                vec![
                    Attr::Str(ETHTOOL_A_HEADER_DEV_NAME, dev.to_string()),
                    Attr::U32(ETHTOOL_A_HEADER_FLAGS, ETHTOOL_FLAG_OMIT_REPLY),
                ],
            ),
            Attr::Nested(
                ETHTOOL_A_FEATURES_WANTED,
                vec![Attr::Nested(ETHTOOL_A_BITSET_BITS, bits)],
            ),
        ])
    }
}

impl GenlFamily for FeaturesSet {
    fn family_name() -> &'static str {
        "ethtool"
    }
    fn command(&self) -> u8 {
        ETHTOOL_MSG_FEATURES_SET
    }
    fn version(&self) -> u8 {
        ETHTOOL_GENL_VERSION
    }
}

impl Emitable for FeaturesSet {
    fn buffer_len(&self) -> usize {
        self.0.as_slice().buffer_len()
    }
    fn emit(&self, buffer: &mut [u8]) {
        self.0.as_slice().emit(buffer)
    }
}

impl ParseableParametrized<[u8], GenlHeader> for FeaturesSet {
    /// Replies are omitted (ETHTOOL_FLAG_OMIT_REPLY); anything else is ignored.
    fn parse_with_param(_: &[u8], _: GenlHeader) -> Result<Self, DecodeError> {
        Ok(FeaturesSet(Vec::new()))
    }
}

fn failed(op: String) -> impl Fn(String) -> SetupError {
    move |message| SetupError::Netlink {
        op: op.clone(),
        message,
    }
}

/// Opens an ethtool generic netlink socket in the calling thread's namespace (inside a runtime).
pub fn connect() -> Result<ethtool::EthtoolHandle, SetupError> {
    let (connection, handle, _) = ethtool::new_connection()
        .map_err(|e| failed("open an ethtool netlink socket".into())(e.to_string()))?;
    tokio::spawn(connection);
    Ok(handle)
}

/// Sets the named feature bits of `dev`, leaving all others alone.
pub async fn set_features(
    handle: &mut ethtool::EthtoolHandle,
    dev: &str,
    bits: &[(&str, bool)],
) -> Result<(), SetupError> {
    let err = failed(format!("ethtool features set on {dev}"));
    let mut message = NetlinkMessage::from(GenlMessage::from_payload(FeaturesSet::new(dev, bits)));
    message.header.flags = NLM_F_REQUEST | NLM_F_ACK;
    let mut replies = handle
        .handle
        .request(message)
        .await
        .map_err(|e| err(e.to_string()))?;
    while let Some(reply) = replies.next().await {
        let reply = reply.map_err(|e| err(e.to_string()))?;
        if let NetlinkPayload::Error(e) = reply.payload {
            if let Some(code) = e.code {
                let errno = nix::Error::from_raw(-code.get());
                return Err(match errno {
                    nix::Error::EPERM => SetupError::NotPermitted {
                        op: format!("ethtool features set on {dev}"),
                    },
                    _ => err(errno.desc().to_string()),
                });
            }
        }
    }
    Ok(())
}

/// Active state of the named features of `dev` (`ethtool -k`); a name the device does not know is
/// reported as off.
pub async fn active_features(
    handle: &mut ethtool::EthtoolHandle,
    dev: &str,
    names: &[&str],
) -> Result<Vec<bool>, SetupError> {
    let err = failed(format!("ethtool features get on {dev}"));
    let mut replies = handle
        .feature()
        .get(Some(dev))
        .execute()
        .await
        .map_err(|e| err(e.to_string()))?;
    let mut active = Vec::new();
    while let Some(reply) = replies.next().await {
        let reply = reply.map_err(|e| err(e.to_string()))?;
        for attr in reply.payload.nlas {
            if let ethtool::EthtoolAttr::Feature(ethtool::EthtoolFeatureAttr::Active(bits)) = attr {
                active.extend(bits.into_iter().filter(|b| b.value).map(|b| b.name));
            }
        }
    }
    Ok(names
        .iter()
        .map(|n| active.iter().any(|a| a == n))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_set_encodes_nested_bitset() {
        let msg = FeaturesSet::new("vb0a", &[(GRO, true)]);
        let mut buf = vec![0u8; msg.buffer_len()];
        msg.emit(&mut buf);
        // header: len, type (nested|1), then DEV_NAME "vb0a\0" padded to 8, FLAGS u32
        assert_eq!(u16::from_ne_bytes([buf[2], buf[3]]), NLA_F_NESTED | 1);
        assert_eq!(&buf[8..13], b"vb0a\0");
        assert_eq!(buf.len() % 4, 0);
        let wanted = 4 + 8 + 4 + 8; // header nest + dev name + flags
        assert_eq!(
            u16::from_ne_bytes([buf[wanted + 2], buf[wanted + 3]]),
            NLA_F_NESTED | ETHTOOL_A_FEATURES_WANTED
        );
        let name = b"rx-gro\0";
        assert!(buf.windows(name.len()).any(|w| w == name));
    }
}
