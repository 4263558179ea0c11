//! Block Kit shape, limits and escaping.

use super::*;

fn texts(value: &Value) -> Vec<String> {
    value["blocks"]
        .as_array()
        .expect("blocks")
        .iter()
        .filter_map(|b| b["text"]["text"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn a_sentence_is_an_ephemeral_section_with_the_same_fallback() {
    let reply = Reply::sentence("Hello *there*".into()).to_slack();
    assert_eq!(
        reply,
        json!({
            "response_type": "ephemeral",
            "text": "Hello *there*",
            "blocks": [{ "type": "section", "text": { "type": "mrkdwn", "text": "Hello *there*" } }],
        })
    );
}

#[test]
fn typed_mentions_and_entities_are_escaped_so_nobody_is_pinged() {
    let reply = Reply::sentence("I don't know `<!channel> & <@U1>`.".into()).to_slack();
    assert_eq!(texts(&reply), ["I don't know `&lt;!channel&gt; &amp; &lt;@U1&gt;`."]);
    assert_eq!(reply["text"], "I don't know `&lt;!channel&gt; &amp; &lt;@U1&gt;`.");
}

#[test]
fn long_text_is_cut_to_the_limit_without_splitting_an_entity() {
    let long = format!("{}&", "a".repeat(MAX_TEXT - 3));
    let text = clip(&long, MAX_TEXT);
    assert_eq!(text.chars().count(), MAX_TEXT - 2);
    assert!(text.ends_with("a…"), "{}", &text[text.len() - 10..]);
    assert_eq!(clip("<b>", 100), "&lt;b&gt;");
}

#[test]
fn a_long_list_spreads_over_sections_and_counts_what_does_not_fit() {
    let lines: Vec<String> =
        (0..200).map(|i| format!("• line {i:03} {}", "x".repeat(90))).collect();
    let blocks = list(None, &lines, 3);
    assert_eq!(blocks.len(), 3);
    let Block::Section { text, .. } = &blocks[2] else { panic!("a section") };
    let shown: usize = blocks
        .iter()
        .map(|b| match b {
            Block::Section { text, .. } => text.lines().filter(|l| l.starts_with('•')).count(),
            _ => 0,
        })
        .sum();
    assert!(text.ends_with(&format!("…and {} more", 200 - shown)), "{text}");
    for block in &blocks {
        let Block::Section { text, .. } = block else { panic!("a section") };
        assert!(escaped_len(text) <= MAX_TEXT);
    }
}

#[test]
fn a_reply_never_has_more_than_fifty_blocks() {
    let reply =
        Reply { fallback: "many".into(), blocks: (0..80).map(|_| Block::Divider).collect() }
            .to_slack();
    let blocks = reply["blocks"].as_array().unwrap();
    assert_eq!(blocks.len(), MAX_BLOCKS);
    assert_eq!(blocks[49]["elements"][0]["text"], "…and 31 more");
}

#[test]
fn headers_and_fields_are_clipped_to_their_own_limits() {
    let reply = Reply {
        fallback: "f".into(),
        blocks: vec![
            Block::Header("h".repeat(400)),
            Block::Section {
                text: "t".into(),
                fields: (0..12).map(|_| "f".repeat(2500)).collect(),
            },
        ],
    }
    .to_slack();
    assert_eq!(reply["blocks"][0]["text"]["text"].as_str().unwrap().chars().count(), MAX_HEADER);
    let fields = reply["blocks"][1]["fields"].as_array().unwrap();
    assert_eq!(fields.len(), MAX_FIELDS);
    assert_eq!(fields[0]["text"].as_str().unwrap().chars().count(), MAX_FIELD);
}
