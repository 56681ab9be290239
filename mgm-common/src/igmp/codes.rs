//! The numbers of the IGMP header that are not plain fields: the internet checksum (RFC 1071)
//! and the floating-point Max Resp Code / QQIC (RFC 3376 §4.1.1, §4.1.7).

/// Largest value the floating-point Max Resp Code / QQIC can express: (0xf | 0x10) << (7 + 3).
pub const FLOAT_CODE_MAX: u32 = 31_744;

/// Internet checksum (RFC 1071) of `bytes`: the one's complement of the one's-complement sum
/// of the 16-bit big-endian words (an odd last byte padded with zero). Writing the result into
/// a zeroed checksum field makes [`checksum`] of the whole message 0.
pub fn checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut chunks = bytes.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Decodes a floating-point Max Resp Code (tenths of a second) or QQIC (seconds), RFC 3376
/// §4.1.1 / §4.1.7: below 128 the value itself, else `(mant | 0x10) << (exp + 3)`.
pub const fn decode_float_code(code: u8) -> u32 {
    if code < 128 {
        code as u32
    } else {
        let exp = (code >> 4) & 0x07;
        let mant = code & 0x0f;
        ((mant as u32) | 0x10) << (exp + 3)
    }
}

/// Encodes a value (tenths of a second for Max Resp Code, seconds for QQIC) into the
/// floating-point code. Values below 128 are exact; larger ones are rounded **down** to the
/// nearest representable value (so a host never waits longer than asked); values above
/// [`FLOAT_CODE_MAX`] saturate to 0xff (= 31744).
pub const fn encode_float_code(value: u32) -> u8 {
    if value < 128 {
        return value as u8;
    }
    if value >= FLOAT_CODE_MAX {
        return 0xff;
    }
    let mut exp: u32 = 0;
    while exp < 8 {
        let mant = value >> (exp + 3);
        if mant < 32 {
            // value >= 128 guarantees mant >= 16 at the first exponent where it drops below 32.
            return 0x80 | ((exp as u8) << 4) | ((mant as u8) & 0x0f);
        }
        exp += 1;
    }
    0xff
}
