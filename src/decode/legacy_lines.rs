//! Parsers of the single lines of a legacy text heap profile, and the
//! unsampling of its counts. The `legacy` module puts them together.

/// Numbers parsed from the first line of a text heap profile.
pub(super) struct Header {
    /// Mean bytes between samples (`runtime.MemProfileRate`). A rate of 1 or
    /// less means that every allocation was recorded.
    pub(super) sampling_rate: i64,
    /// Whether the allocation columns carry data of their own, judged as
    /// `go tool pprof` judges it: totals that differ from the in-use totals.
    pub(super) has_alloc: bool,
}

/// Parses `heap profile: IN_COUNT: IN_BYTES [ALLOC_COUNT: ALLOC_BYTES] @ heap/2*RATE`.
pub(super) fn parse_header(line: &str) -> Result<Header, String> {
    let invalid = || {
        format!(
            "expected a header such as \"heap profile: 1: 64 [2: 128] @ heap/1048576\", \
             found {:?}",
            truncate(line)
        )
    };
    let rest = line
        .trim()
        .strip_prefix("heap profile:")
        .ok_or_else(invalid)?;
    let (counts, kind) = rest.split_once('@').ok_or_else(invalid)?;
    let [in_count, in_bytes, alloc_count, alloc_bytes] =
        parse_counts(counts).ok_or_else(invalid)?;
    // The Go runtime writes twice its MemProfileRate after "heap/".
    let sampling_rate = match kind.trim().strip_prefix("heap/") {
        Some(rate) => rate.parse::<i64>().map_err(|_| invalid())? / 2,
        None => return Err(invalid()),
    };
    let has_alloc = (alloc_count != in_count && alloc_count != 0)
        || (alloc_bytes != in_bytes && alloc_bytes != 0);
    Ok(Header {
        sampling_rate,
        has_alloc,
    })
}

/// Parses `IN_COUNT: IN_BYTES [ALLOC_COUNT: ALLOC_BYTES] @ 0xADDRESS...` into
/// the four counts, and appends the addresses minus one to `addresses`, so
/// that each return address falls inside its call instruction.
pub(super) fn parse_sample(line: &str, addresses: &mut Vec<u64>) -> Result<[i64; 4], String> {
    let invalid = || {
        format!(
            "expected a sample such as \"1: 64 [2: 128] @ 0x45a3b1 0x45a2c7\", found {:?}",
            truncate(line)
        )
    };
    let (counts_text, stack) = line.split_once('@').ok_or_else(invalid)?;
    let counts = parse_counts(counts_text).ok_or_else(invalid)?;
    let pairs = [
        (counts[0], counts[1], "in-use"),
        (counts[2], counts[3], "allocated"),
    ];
    for (count, bytes, what) in pairs {
        if count == 0 && bytes != 0 {
            return Err(format!(
                "the {what} object count is 0 but its bytes are {bytes}"
            ));
        }
    }
    for word in stack.split_whitespace() {
        let address = parse_address(word)
            .ok_or_else(|| format!("invalid stack address {:?}", truncate(word)))?;
        addresses.push(address.saturating_sub(1));
    }
    Ok(counts)
}

/// Parses `0x` and hex digits.
pub(super) fn parse_address(word: &str) -> Option<u64> {
    u64::from_str_radix(word.strip_prefix("0x")?, 16).ok()
}

/// Parses `A: B [C: D]` into `[A, B, C, D]`.
fn parse_counts(text: &str) -> Option<[i64; 4]> {
    let (in_use, alloc) = text.split_once('[')?;
    let alloc = alloc.trim().strip_suffix(']')?;
    let pair = |text: &str| -> Option<(i64, i64)> {
        let (count, bytes) = text.split_once(':')?;
        Some((count.trim().parse().ok()?, bytes.trim().parse().ok()?))
    };
    let (in_count, in_bytes) = pair(in_use)?;
    let (alloc_count, alloc_bytes) = pair(alloc)?;
    Some([in_count, in_bytes, alloc_count, alloc_bytes])
}

/// A frame named by a comment line: function, file and line number.
pub(super) type NamedFrame<'a> = (&'a str, &'a str, i64);

/// Parses the `FUNCTION+OFFSET` and `FILE:LINE` fields of a frame line. Both
/// are missing for a frame the runtime could not name, which gives `None`.
pub(super) fn parse_frame<'a>(
    function: Option<&'a str>,
    place: Option<&'a str>,
) -> Result<Option<NamedFrame<'a>>, String> {
    let Some(function) = function else {
        return Ok(None);
    };
    let function = match function.rsplit_once("+0x") {
        Some((name, _offset)) => name,
        None => function,
    };
    let Some((file, line)) = place.and_then(|place| place.rsplit_once(':')) else {
        return Ok(Some((function, place.unwrap_or(""), 0)));
    };
    let line = line
        .parse()
        .map_err(|_| format!("invalid line number {:?}", truncate(line)))?;
    Ok(Some((function, file, line)))
}

/// Shortens `text` for an error message.
pub(super) fn truncate(text: &str) -> String {
    text.chars().take(80).collect()
}

/// Scales a sampled count and size to estimates of all allocations. An
/// allocation of `size` bytes is sampled with probability 1 - exp(-size/rate),
/// so each value is divided by that probability, as runtime/pprof does for
/// protobuf heap profiles.
pub(super) fn unsample(count: i64, bytes: i64, rate: i64) -> (i64, i64) {
    if count == 0 || bytes == 0 || rate <= 1 {
        return (count, bytes);
    }
    let mean_size = bytes as f64 / count as f64;
    let scale = 1.0 / (1.0 - (-mean_size / rate as f64).exp());
    ((count as f64 * scale) as i64, (bytes as f64 * scale) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_halves_the_rate() {
        let header = parse_header("heap profile: 3: 192 [5: 320] @ heap/1048576");
        let header = header.expect("valid header");
        assert_eq!(header.sampling_rate, 524288);
        assert!(header.has_alloc);
    }

    #[test]
    fn sample_addresses_point_into_calls() {
        let mut addresses = Vec::new();
        let counts = parse_sample("1: 64 [2: 128] @ 0x10 0x20", &mut addresses);
        assert_eq!(counts, Ok([1, 64, 2, 128]));
        assert_eq!(addresses, [0xf, 0x1f]);
    }

    #[test]
    fn frame_drops_offset_and_splits_place() {
        let frame = parse_frame(Some("main.(*T).f+0x1d"), Some("C:/src/main.go:42"));
        assert_eq!(frame, Ok(Some(("main.(*T).f", "C:/src/main.go", 42))));
    }

    #[test]
    fn unsample_matches_go_tool_pprof() {
        // `go tool pprof -raw` (Go 1.27) on a sample of 2 objects and
        // 131072 bytes at a rate of 524288 prints 17 and 1115476.
        assert_eq!(unsample(2, 131072, 524288), (17, 1115476));
        assert_eq!(unsample(2, 131072, 1), (2, 131072));
    }
}
