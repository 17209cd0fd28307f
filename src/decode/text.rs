//! Recognition of text given in place of a binary profile. Legacy text heap
//! profiles go to the `legacy` parser. Other text, such as an HTML error page
//! or a goroutine dump, gets a message that explains how to get a real profile.

/// Bytes of the input examined to decide whether it is text.
const SNIFF_BYTES: usize = 512;

/// The kind of input, judged from its first (decompressed) bytes.
#[derive(Debug, PartialEq)]
pub(super) enum Contents {
    /// Not text, so presumably protobuf.
    Binary,
    /// A legacy text heap profile (`/debug/pprof/heap?debug=1`).
    LegacyHeap,
    /// Some other text, with the message that explains what to do.
    OtherText(String),
}

/// Tells from `head`, the first bytes of the (decompressed) input, whether it
/// is text and which kind.
pub(super) fn classify(head: &[u8]) -> Contents {
    let sample = &head[..head.len().min(SNIFF_BYTES)];
    let text = match std::str::from_utf8(sample) {
        Ok(text) => text,
        // A character cut in two by the end of the sample is still text.
        Err(e) if e.error_len().is_none() => {
            std::str::from_utf8(&sample[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return Contents::Binary,
    };
    let printable = text
        .chars()
        .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'));
    if !printable || text.len() < 2 {
        return Contents::Binary;
    }
    let text = text.trim_start();
    if text.starts_with("heap profile:") {
        return Contents::LegacyHeap;
    }
    Contents::OtherText(describe(text))
}

fn describe(text: &str) -> String {
    if text.starts_with("goroutine profile:") || text.starts_with("goroutine ") {
        return "is a text goroutine dump (/debug/pprof/goroutine?debug=1 or debug=2); \
                fetch /debug/pprof/goroutine without debug= to get a protobuf profile"
            .into();
    }
    if text.starts_with("--- mutex:")
        || text.starts_with("--- contention:")
        || text.starts_with("threadcreate profile:")
    {
        return "is a legacy text profile from a debug=1 page of net/http/pprof, which \
                pprof-chain reads only for heap profiles; fetch the same page without \
                debug=1 to get a protobuf profile"
            .into();
    }
    if text.starts_with('<') {
        return "is HTML or XML, not a pprof profile; the server probably sent an error page, \
                so check the URL and that the program serves net/http/pprof"
            .into();
    }
    let first_line = text.lines().next().unwrap_or("");
    let first_chars: String = first_line.chars().take(60).collect();
    format!(
        "is text, not a pprof protobuf profile (it starts with {first_chars:?}); save the \
         output of /debug/pprof/heap or of pprof.WriteHeapProfile instead"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_protobuf_is_not_text() {
        // A ValueType field (1) of 4 bytes, as Go writes first.
        let head = [0x0a, 0x04, 0x08, 0x01, 0x10, 0x02];
        assert_eq!(classify(&head), Contents::Binary);
    }

    #[test]
    fn utf8_cut_at_sample_end_is_text() {
        let mut head = "é".repeat(SNIFF_BYTES / 2 - 1).into_bytes();
        head.extend_from_slice("aé".as_bytes());
        let contents = classify(&head);
        assert!(
            matches!(&contents, Contents::OtherText(m) if m.starts_with("is text")),
            "{contents:?}"
        );
    }

    #[test]
    fn legacy_heap_profile_is_recognised() {
        let head = b"heap profile: 1: 24 [1: 24] @ heap/1048576\n";
        assert_eq!(classify(head), Contents::LegacyHeap);
    }

    #[test]
    fn goroutine_dump_is_recognised() {
        let contents = classify(b"goroutine 1 [running]:\nmain.main()\n");
        assert!(
            matches!(&contents, Contents::OtherText(m) if m.contains("goroutine dump")),
            "{contents:?}"
        );
    }
}
