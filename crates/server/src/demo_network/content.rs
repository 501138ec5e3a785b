//! The organisations of `gazette demo network` and their articles,
//! embedded in the binary (files under `crates/server/demo/network/`). The
//! Belgian member is the demo of `gazette serve --demo`.

use crate::demo::{DemoContent, SOLSTICE};

/// The coordinator's organisation (it publishes nothing of its own).
pub(super) const COORDINATOR: DemoContent = DemoContent {
    organisation: include_str!("../../demo/network/coordinator/organisation.toml"),
    authors: include_str!("../../demo/network/coordinator/authors.toml"),
    texts: &[],
    media: &[],
    articles: &[],
};

/// A French mutual health insurer (French and English).
const MUTUELLE: DemoContent = DemoContent {
    organisation: include_str!("../../demo/network/mutuelle/organisation.toml"),
    authors: include_str!("../../demo/network/mutuelle/authors.toml"),
    texts: &[
        (
            "interview.fr.md",
            include_str!("../../demo/network/mutuelle/interview.fr.md"),
        ),
        (
            "interview.en.md",
            include_str!("../../demo/network/mutuelle/interview.en.md"),
        ),
        ("news.fr.md", include_str!("../../demo/network/mutuelle/news.fr.md")),
    ],
    media: &[],
    articles: &["news.fr.md", "interview.fr.md"],
};

/// A Spanish work-integration social enterprise (Spanish and English).
const RAICES: DemoContent = DemoContent {
    organisation: include_str!("../../demo/network/raices/organisation.toml"),
    authors: include_str!("../../demo/network/raices/authors.toml"),
    texts: &[
        (
            "interview.es.md",
            include_str!("../../demo/network/raices/interview.es.md"),
        ),
        (
            "interview.en.md",
            include_str!("../../demo/network/raices/interview.en.md"),
        ),
        ("news.es.md", include_str!("../../demo/network/raices/news.es.md")),
    ],
    media: &[],
    articles: &["news.es.md", "interview.es.md"],
};

/// An Italian social cooperative (Italian and English).
const MANDORLO: DemoContent = DemoContent {
    organisation: include_str!("../../demo/network/mandorlo/organisation.toml"),
    authors: include_str!("../../demo/network/mandorlo/authors.toml"),
    texts: &[
        (
            "interview.it.md",
            include_str!("../../demo/network/mandorlo/interview.it.md"),
        ),
        (
            "interview.en.md",
            include_str!("../../demo/network/mandorlo/interview.en.md"),
        ),
        ("news.it.md", include_str!("../../demo/network/mandorlo/news.it.md")),
    ],
    media: &[],
    articles: &["interview.it.md", "news.it.md"],
};

/// The members, by the name of their data directory.
pub(super) const MEMBERS: [(&str, &DemoContent); 4] = [
    ("member-be", &SOLSTICE),
    ("member-fr", &MUTUELLE),
    ("member-es", &RAICES),
    ("member-it", &MANDORLO),
];
