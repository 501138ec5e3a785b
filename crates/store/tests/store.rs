//! The store suite, run on SQLite and on PostgreSQL: every test body is
//! written once and instantiated for both backends by `both!`.

#![allow(clippy::unwrap_used)]

use chrono::{Duration, Utc};
use gazette_core::media::ImageInfo;
use gazette_core::validate::{self, NoLines};
use gazette_core::*;
use gazette_store::testing::TestDb;
use gazette_store::{ArticleQuery, Backend, MediaUse, NewMedia, Store, StoreError};

gazette_store::each_backend!(
    migrations_are_idempotent,
    organisation_round_trip,
    authors_crud_and_unique_username,
    article_round_trip_with_translations,
    slug_clash_is_a_conflict_and_leaves_nothing,
    bad_references_write_nothing,
    update_keeps_id_and_refuses_stale_versions,
    listing_filters_and_pages,
    status_changes_and_scheduling,
    media_round_trip,
    media_library_uses_alt_and_delete,
    media_uses_follow_article_writes,
    tokens_create_verify_revoke,
    tokens_belong_to_users_and_expire,
    article_with_media_is_one_transaction,
    concurrent_writers_all_succeed,
    article_view_joins_author_and_organisation,
    changes_record_what_followers_must_hear,
    article_counts_follow_every_status_change,
    newsletter_subscribe_confirm_publish_unsubscribe,
);

const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0A, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00,
    0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

async fn author(store: &Store, username: &str) -> Author {
    let input = AuthorInput {
        username: username.into(),
        name: format!("Name {username}"),
        bio: "Bio".into(),
        ..Default::default()
    };
    store.create_author(&validate::author(&input).unwrap()).await.unwrap()
}

fn article_input(slug: &str, author: &str) -> ArticleInput {
    ArticleInput {
        slug: Some(slug.into()),
        kind: "news".into(),
        status: Some("published".into()),
        language: "fr".into(),
        translations: vec![
            TranslationInput {
                language: "fr".into(),
                title: "Titre".into(),
                summary: "Résumé".into(),
                body: "## 🌱 Texte\n\nCorps.".into(),
                ..Default::default()
            },
            TranslationInput {
                language: "en".into(),
                title: "Title".into(),
                summary: "Summary".into(),
                body: "Body".into(),
                ..Default::default()
            },
        ],
        tags: vec!["Cooperatives".into(), "energy".into()],
        author: author.into(),
        ..Default::default()
    }
}

fn valid(input: &ArticleInput) -> NewArticle {
    validate::article(input, ArticleStatus::Draft, Utc::now(), &NoLines, &|_| 1).unwrap()
}

async fn migrations_are_idempotent(store: &Store) {
    assert!(store.migrate().await.unwrap().is_empty(), "second run applies nothing");
    store.ping().await.unwrap();
}

async fn organisation_round_trip(store: &Store) {
    assert!(store.find_organisation().await.unwrap().is_none());
    let org = Organisation {
        username: "demo".into(),
        name: "Coop".into(),
        description: "D".into(),
        logo: None,
        website: Some("https://coop.example".into()),
        country: Country::parse("BE").unwrap(),
        legal_form: LegalForm::Cooperative,
        sectors: vec!["energy".into()],
        languages: vec![Language::parse("fr").unwrap(), Language::parse("nl").unwrap()],
        updated_at: Utc::now(),
    };
    let saved = store.save_organisation(&org).await.unwrap();
    assert_eq!(store.get_organisation().await.unwrap(), saved);
    let renamed = Organisation {
        name: "Coop 2".into(),
        ..saved
    };
    store.save_organisation(&renamed).await.unwrap();
    assert_eq!(store.get_organisation().await.unwrap().name, "Coop 2");
    let bad_logo = Organisation {
        logo: Some("nope".into()),
        ..renamed
    };
    assert!(matches!(
        store.save_organisation(&bad_logo).await,
        Err(StoreError::Invalid { field: "logo", .. })
    ));
}

async fn authors_crud_and_unique_username(store: &Store) {
    let a = author(store, "lea").await;
    assert_eq!(store.get_author("lea").await.unwrap(), a);
    assert_eq!(store.get_author(&a.id).await.unwrap(), a);
    let dup = AuthorInput {
        username: "lea".into(),
        name: "Other".into(),
        ..Default::default()
    };
    match store.create_author(&dup).await {
        Err(StoreError::Conflict { field: "username", .. }) => {}
        other => panic!("expected username conflict, got {other:?}"),
    }
    let changed = AuthorInput {
        username: "lea".into(),
        name: "Léa M.".into(),
        fediverse_handle: Some("@lea@social.example".into()),
        ..Default::default()
    };
    let updated = store.update_author("lea", &changed).await.unwrap();
    assert_eq!(updated.id, a.id);
    assert_eq!(updated.name, "Léa M.");
    assert_eq!(store.list_authors().await.unwrap().len(), 1);
    store.create_article(&valid(&article_input("a1", "lea"))).await.unwrap();
    assert!(matches!(
        store.delete_author("lea").await,
        Err(StoreError::Conflict { .. })
    ));
    let b = author(store, "bob").await;
    store.delete_author(&b.id).await.unwrap();
    assert!(store.find_author("bob").await.unwrap().is_none());
    assert!(matches!(
        store.get_author("bob").await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn article_round_trip_with_translations(store: &Store) {
    let a = author(store, "lea").await;
    let info = ImageInfo {
        content_type: "image/png",
        width: 1,
        height: 1,
    };
    let media = store.create_media(&info, "A dot", PNG).await.unwrap();
    let mut input = article_input("hello", "lea");
    input.kind = "interview".into();
    input.cover = Some(CoverInput {
        media_id: media.id.clone(),
        alt: "A single dot".into(),
    });
    input.interviewee = Some(Interviewee {
        name: "Ana".into(),
        role: "Director".into(),
        photo: Some(media.id.clone()),
        ..Default::default()
    });
    let created = store.create_article(&valid(&input)).await.unwrap();
    assert_eq!(created.author_id, a.id);
    assert_eq!(created.status, ArticleStatus::Published);
    assert!(created.published_at.is_some());
    assert_eq!(created.version, 1);
    assert_eq!(created.translations.len(), 2);
    assert_eq!(created.translations[0].language.as_str(), "fr");
    assert!(created.translations[0].body_html.contains("<h2>🌱 Texte</h2>"));
    assert_eq!(created.tags, vec!["Cooperatives", "energy"], "tags as written");
    assert_eq!(created.cover.as_ref().unwrap().alt, "A single dot");
    assert_eq!(created.interviewee.as_ref().unwrap().name, "Ana");
    let by_slug = store.get_article_by_slug("hello").await.unwrap();
    assert_eq!(by_slug, created);
    assert_eq!(
        by_slug.translation(Some(&Language::parse("en").unwrap())).title,
        "Title"
    );
    assert_eq!(
        by_slug.translation(Some(&Language::parse("de").unwrap())).title,
        "Titre"
    );
}

async fn slug_clash_is_a_conflict_and_leaves_nothing(store: &Store) {
    author(store, "lea").await;
    store
        .create_article(&valid(&article_input("same", "lea")))
        .await
        .unwrap();
    let mut second = article_input("same", "lea");
    second.translations[0].title = "Autre".into();
    match store.create_article(&valid(&second)).await {
        Err(StoreError::Conflict { field: "slug", message }) => assert!(message.contains("same")),
        other => panic!("expected slug conflict, got {other:?}"),
    }
    let page = store
        .list_articles(&ArticleQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.articles[0].translations[0].title, "Titre");
}

async fn bad_references_write_nothing(store: &Store) {
    author(store, "lea").await;
    match store.create_article(&valid(&article_input("x", "nobody"))).await {
        Err(StoreError::Invalid { field: "author", .. }) => {}
        other => panic!("expected invalid author, got {other:?}"),
    }
    let mut input = article_input("y", "lea");
    input.cover = Some(CoverInput {
        media_id: "missing".into(),
        alt: "alt".into(),
    });
    match store.create_article(&valid(&input)).await {
        Err(StoreError::Invalid { field: "cover", .. }) => {}
        other => panic!("expected invalid cover, got {other:?}"),
    }
    assert_eq!(
        store
            .list_articles(&ArticleQuery {
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap()
            .total,
        0
    );
}

async fn update_keeps_id_and_refuses_stale_versions(store: &Store) {
    author(store, "lea").await;
    author(store, "bob").await;
    let created = store
        .create_article(&valid(&article_input("first", "lea")))
        .await
        .unwrap();
    let mut input = article_input("renamed", "bob");
    input.translations.pop();
    input.tags = vec!["housing".into()];
    let updated = store
        .update_article(&created.id, &valid(&input), Some(1))
        .await
        .unwrap();
    assert_eq!(updated.id, created.id);
    assert_eq!(updated.slug, "renamed");
    assert_eq!(updated.version, 2);
    assert_eq!(updated.translations.len(), 1);
    assert_eq!(updated.tags, vec!["housing"]);
    assert_eq!(updated.created_at, created.created_at);
    assert_eq!(
        updated.published_at, created.published_at,
        "an edit keeps the publication date"
    );
    assert!(updated.updated_at >= created.updated_at);
    match store.update_article(&created.id, &valid(&input), Some(1)).await {
        Err(StoreError::StaleVersion { current: 2, .. }) => {}
        other => panic!("expected stale version, got {other:?}"),
    }
    assert!(store.find_article_by_slug("first").await.unwrap().is_none());
    // The search index follows the new slug and titles.
    let found = |q: &'static str| {
        let query = ArticleQuery {
            search: Some(q.into()),
            limit: 10,
            ..Default::default()
        };
        async move { store.list_articles(&query).await.unwrap().total }
    };
    assert_eq!(found("renamed").await, 1);
    assert_eq!(found("first").await, 0);
    assert_eq!(found("titre").await, 1);
    assert_eq!(found("title").await, 0, "the removed translation's title is gone");
    store
        .create_article(&valid(&article_input("other", "lea")))
        .await
        .unwrap();
    let clash = article_input("other", "lea");
    assert!(matches!(
        store.update_article(&created.id, &valid(&clash), None).await,
        Err(StoreError::Conflict { field: "slug", .. })
    ));
    assert_eq!(
        store.get_article(&created.id).await.unwrap(),
        updated,
        "a refused update changes nothing"
    );
}

async fn listing_filters_and_pages(store: &Store) {
    let lea = author(store, "lea").await;
    author(store, "bob").await;
    for i in 0..5 {
        let mut input = article_input(&format!("news-{i}"), if i % 2 == 0 { "lea" } else { "bob" });
        input.publish_at = Some((Utc::now() - Duration::hours(10 - i)).to_rfc3339());
        if i == 4 {
            input.translations.pop();
            input.tags = vec!["solo".into()];
            input.translations[0].title = "Énergie citoyenne".into();
        }
        store.create_article(&valid(&input)).await.unwrap();
    }
    let mut draft = article_input("draft-1", "lea");
    draft.status = Some("draft".into());
    store.create_article(&valid(&draft)).await.unwrap();

    let page = store.list_articles(&ArticleQuery::published(2, 0)).await.unwrap();
    assert_eq!(page.total, 5);
    assert_eq!(
        page.articles.iter().map(|a| a.slug.as_str()).collect::<Vec<_>>(),
        ["news-4", "news-3"]
    );
    let page3 = store.list_articles(&ArticleQuery::published(2, 4)).await.unwrap();
    assert_eq!(page3.articles.len(), 1);
    assert_eq!(page3.articles[0].slug, "news-0");

    let by_tag = store
        .list_articles(&ArticleQuery {
            tag: Some("solo".into()),
            ..ArticleQuery::published(10, 0)
        })
        .await
        .unwrap();
    assert_eq!(by_tag.total, 1);
    let en = store
        .list_articles(&ArticleQuery {
            language: Some(Language::parse("en").unwrap()),
            ..ArticleQuery::published(10, 0)
        })
        .await
        .unwrap();
    assert_eq!(en.total, 4);
    let by_author = store
        .list_articles(&ArticleQuery {
            author_id: Some(lea.id.clone()),
            ..ArticleQuery::published(10, 0)
        })
        .await
        .unwrap();
    assert_eq!(by_author.total, 3);
    let all = store
        .list_articles(&ArticleQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.total, 6);
    let search = store
        .list_articles(&ArticleQuery {
            search: Some("ÉNERGIE".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let search_lower = store
        .list_articles(&ArticleQuery {
            search: Some("citoyenne".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(search_lower.total, 1);
    assert_eq!(search.total, 1, "case folds beyond ASCII: ÉNERGIE finds Énergie");
    assert_eq!(search.articles[0].slug, "news-4");
    let prefix_and_slug = store
        .list_articles(&ArticleQuery {
            search: Some("énerg news".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        prefix_and_slug.total, 1,
        "every word begins a word of a title or the slug"
    );
    let any_translation = store
        .list_articles(&ArticleQuery {
            search: Some("TITLE".into()),
            limit: 2,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(any_translation.total, 5, "the English titles count too");
    assert_eq!(any_translation.articles.len(), 2);
    assert_eq!(any_translation.articles[0].slug, "draft-1", "newest first");
    let search = |q: &str, statuses: Vec<ArticleStatus>, tag: Option<&str>| ArticleQuery {
        search: Some(q.into()),
        statuses,
        tag: tag.map(Into::into),
        limit: 10,
        ..Default::default()
    };
    let drafts = store
        .list_articles(&search("titre", vec![ArticleStatus::Draft], None))
        .await
        .unwrap();
    assert_eq!(drafts.total, 1, "the search index knows each article's status");
    assert_eq!(drafts.articles[0].slug, "draft-1");
    let tagged = store
        .list_articles(&search("énergie", Vec::new(), Some("solo")))
        .await
        .unwrap();
    assert_eq!(tagged.total, 1, "search with other filters");
    let none = store
        .list_articles(&search("titre", Vec::new(), Some("solo")))
        .await
        .unwrap();
    assert_eq!(none.total, 0);
    let pct = store
        .list_articles(&ArticleQuery {
            search: Some("%".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(pct.total, 0, "wildcards are escaped");
    let past_the_end = store
        .list_articles(&ArticleQuery {
            search: Some("title".into()),
            limit: 2,
            offset: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(past_the_end.articles.is_empty());
    assert_eq!(past_the_end.total, 5, "a page past the last still counts the matches");

    let tags = store.list_tags(10).await.unwrap();
    assert_eq!(tags[0].tag, "Cooperatives", "shown as written");
    assert_eq!(tags[0].count, 4);
    for spelling in ["cooperatives", "COOPERATIVES", "Cooperatives"] {
        let found = store
            .list_articles(&ArticleQuery {
                tag: Some(spelling.into()),
                ..ArticleQuery::published(10, 0)
            })
            .await
            .unwrap();
        assert_eq!(found.total, 4, "any spelling finds the tag: {spelling}");
    }
    let langs = store.published_languages().await.unwrap();
    assert_eq!(langs.iter().map(|l| l.as_str()).collect::<Vec<_>>(), ["en", "fr"]);
    assert_eq!(store.count_articles(ArticleStatus::Published).await.unwrap(), 5);
}

async fn status_changes_and_scheduling(store: &Store) {
    author(store, "lea").await;
    let mut input = article_input("later", "lea");
    input.status = Some("scheduled".into());
    let at = Utc::now() + Duration::seconds(3600);
    input.publish_at = Some(at.to_rfc3339());
    let a = store.create_article(&valid(&input)).await.unwrap();
    assert_eq!(a.status, ArticleStatus::Scheduled);
    assert!(store.publish_due(Utc::now()).await.unwrap().is_empty());
    assert_eq!(
        store.next_scheduled().await.unwrap().map(|t| t.timestamp()),
        Some(at.timestamp())
    );
    let due = store.publish_due(at + Duration::seconds(1)).await.unwrap();
    assert_eq!(due, vec![a.id.clone()]);
    assert!(
        store.publish_due(at + Duration::seconds(2)).await.unwrap().is_empty(),
        "published once only"
    );
    let published = store.get_article(&a.id).await.unwrap();
    assert_eq!(published.status, ArticleStatus::Published);
    let found = store
        .list_articles(&ArticleQuery {
            search: Some("later".into()),
            statuses: vec![ArticleStatus::Published],
            limit: 5,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(found.total, 1, "published by the scheduler, found as published");
    assert_eq!(published.published_at.map(|t| t.timestamp()), Some(at.timestamp()));

    let draft = store.set_article_status(&a.id, ArticleStatus::Draft).await.unwrap();
    assert_eq!(draft.status, ArticleStatus::Draft);
    let again = store.set_article_status(&a.id, ArticleStatus::Published).await.unwrap();
    assert_eq!(again.published_at, published.published_at);
    let deleted = store.set_article_status(&a.id, ArticleStatus::Deleted).await.unwrap();
    assert_eq!(deleted.status, ArticleStatus::Deleted);
    assert_eq!(
        store
            .list_articles(&ArticleQuery {
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap()
            .total,
        0
    );
    match store.create_article(&valid(&article_input("later", "lea"))).await {
        Err(StoreError::Conflict { message, .. }) => assert!(message.contains("deleted")),
        other => panic!("expected conflict with deleted article, got {other:?}"),
    }
    assert!(matches!(
        store.set_article_status("nope", ArticleStatus::Published).await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn media_round_trip(store: &Store) {
    let info = ImageInfo {
        content_type: "image/png",
        width: 1,
        height: 1,
    };
    assert!(matches!(
        store.create_media(&info, "  ", PNG).await,
        Err(StoreError::Invalid { field: "alt", .. })
    ));
    let m = store.create_media(&info, "A dot", PNG).await.unwrap();
    let (meta, bytes) = store.get_media_data(&m.id).await.unwrap();
    assert_eq!(meta, m);
    assert_eq!(bytes, PNG);
    assert_eq!(m.size, PNG.len() as u64);
    assert_eq!(m.sha256.len(), 64);
    assert_eq!(store.list_media(10, 0).await.unwrap(), vec![m.clone()]);
    assert_eq!(store.find_media_by_sha256(&m.sha256).await.unwrap(), Some(m));
    assert_eq!(store.find_media_by_sha256("00").await.unwrap(), None);
    assert!(matches!(store.get_media("zzz").await, Err(StoreError::NotFound { .. })));
}

async fn media_library_uses_alt_and_delete(store: &Store) {
    let info = ImageInfo {
        content_type: "image/png",
        width: 1,
        height: 1,
    };
    let lea = author(store, "lea").await;
    let cover = store.create_media(&info, "Cover", PNG).await.unwrap();
    let inline = store.create_media(&info, "Inline", PNG).await.unwrap();
    let avatar = store.create_media(&info, "Avatar", PNG).await.unwrap();
    let photo = store.create_media(&info, "Photo", PNG).await.unwrap();
    let free = store.create_media(&info, "Free", PNG).await.unwrap();
    assert_eq!(store.count_media().await.unwrap(), 5);

    let mut input = article_input("uses", "lea");
    input.cover = Some(CoverInput {
        media_id: cover.id.clone(),
        alt: "A cover".into(),
    });
    input.translations[1].body = format!("Text\n\n![A dot](/media/{})\n", inline.id);
    // Shown in both languages: still one use of the article.
    input.translations[0].body = format!("Texte\n\n![Un point](/media/{})\n", inline.id);
    input.kind = "interview".into();
    input.interviewee = Some(Interviewee {
        name: "Ana".into(),
        photo: Some(photo.id.clone()),
        ..Default::default()
    });
    let a = store.create_article(&valid(&input)).await.unwrap();
    let avatar_input = AuthorInput {
        username: "lea".into(),
        name: lea.name.clone(),
        bio: lea.bio.clone(),
        avatar: Some(avatar.id.clone()),
        fediverse_handle: None,
    };
    store.update_author("lea", &avatar_input).await.unwrap();

    let used = |kind: &'static str, key: &str, label: &str| MediaUse {
        kind,
        key: key.into(),
        label: label.into(),
    };
    assert_eq!(
        store.media_uses(&cover.id).await.unwrap(),
        vec![used("cover", &a.id, "Titre")]
    );
    assert_eq!(
        store.media_uses(&inline.id).await.unwrap(),
        vec![used("inline", &a.id, "Titre")]
    );
    assert_eq!(
        store.media_uses(&photo.id).await.unwrap(),
        vec![used("interviewee", &a.id, "Titre")]
    );
    assert_eq!(
        store.media_uses(&avatar.id).await.unwrap(),
        vec![used("avatar", "lea", "Name lea")]
    );
    assert!(store.media_uses(&free.id).await.unwrap().is_empty());
    assert!(store.media_uses("%").await.unwrap().is_empty());
    let page = store
        .media_uses_of(&[&cover.id, &inline.id, &free.id, "%"])
        .await
        .unwrap();
    assert_eq!(page.len(), 2, "{page:?}");
    assert_eq!(page[&cover.id], vec![used("cover", &a.id, "Titre")]);
    assert_eq!(page[&inline.id], vec![used("inline", &a.id, "Titre")]);

    // A used image is refused, naming where it is used, and stays.
    match store.delete_media(&inline.id).await {
        Err(StoreError::Conflict {
            field: "media",
            message,
        }) => {
            assert!(message.contains("the text of article “Titre”"), "{message}")
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert!(store.find_media(&inline.id).await.unwrap().is_some());
    store.delete_media(&free.id).await.unwrap();
    assert!(store.find_media(&free.id).await.unwrap().is_none());
    assert!(matches!(
        store.delete_media(&free.id).await,
        Err(StoreError::NotFound { .. })
    ));

    assert_eq!(
        store.update_media_alt(&inline.id, " A red dot ").await.unwrap().alt,
        "A red dot"
    );
    assert!(matches!(
        store.update_media_alt(&inline.id, " ").await,
        Err(StoreError::Invalid { field: "alt", .. })
    ));
    assert!(matches!(
        store.update_media_alt("nope", "x").await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(store.get_media(&inline.id).await.unwrap().alt, "A red dot");
}

/// Where an image is used follows every write of an article's texts, cover
/// and interviewee (the reference table of migration 21): a use appears
/// with the text that shows the image and goes with it.
async fn media_uses_follow_article_writes(store: &Store) {
    author(store, "lea").await;
    let info = ImageInfo {
        content_type: "image/png",
        width: 1,
        height: 1,
    };
    let one = store.create_media(&info, "One", PNG).await.unwrap();
    let two = store.create_media(&info, "Two", PNG).await.unwrap();
    let three = store.create_media(&info, "Three", PNG).await.unwrap();
    let uses = |id: String| async move { store.media_uses(&id).await.unwrap() };

    let mut input = article_input("refs", "lea");
    input.translations[0].body = format!("Texte\n\n![Un point](/media/{})\n", one.id);
    let a = store.create_article(&valid(&input)).await.unwrap();
    let used = |kind: &'static str| MediaUse {
        kind,
        key: a.id.clone(),
        label: "Titre".into(),
    };
    assert_eq!(uses(one.id.clone()).await, vec![used("inline")]);
    assert!(uses(two.id.clone()).await.is_empty());

    // The text no longer shows the first image; the other translation shows
    // the second, twice and once by absolute URL: one use.
    input.translations[0].body = "Texte sans image.".into();
    input.translations[1].body = format!(
        "![Two](https://news.example/media/{id}) and again ![Two](/media/{id}).",
        id = two.id
    );
    let a2 = store
        .update_article(&a.id, &valid(&input), Some(a.version))
        .await
        .unwrap();
    assert!(uses(one.id.clone()).await.is_empty());
    assert_eq!(uses(two.id.clone()).await, vec![used("inline")]);
    let page = store.media_uses_of(&[&one.id, &two.id, &three.id]).await.unwrap();
    assert_eq!(page.len(), 1, "{page:?}");
    store.delete_media(&one.id).await.unwrap();

    // A refused save changes nothing.
    let mut refused = input.clone();
    refused.translations[1].body = format!("![Three](/media/{})", three.id);
    assert!(matches!(
        store.update_article(&a.id, &valid(&refused), Some(a.version)).await,
        Err(StoreError::StaleVersion { .. })
    ));
    assert_eq!(uses(two.id.clone()).await, vec![used("inline")]);
    assert!(uses(three.id.clone()).await.is_empty());

    // The translation that showed it removed: no longer used.
    input.translations.truncate(1);
    let a3 = store
        .update_article(&a.id, &valid(&input), Some(a2.version))
        .await
        .unwrap();
    assert!(uses(two.id.clone()).await.is_empty());

    // A cover and an interviewee photo, then neither.
    input.cover = Some(CoverInput {
        media_id: three.id.clone(),
        alt: "A cover".into(),
    });
    input.kind = "interview".into();
    input.interviewee = Some(Interviewee {
        name: "Ana".into(),
        photo: Some(two.id.clone()),
        ..Default::default()
    });
    let a4 = store
        .update_article(&a.id, &valid(&input), Some(a3.version))
        .await
        .unwrap();
    assert_eq!(uses(three.id.clone()).await, vec![used("cover")]);
    assert_eq!(uses(two.id.clone()).await, vec![used("interviewee")]);
    input.cover = None;
    input.interviewee = None;
    input.kind = "news".into();
    let a5 = store
        .update_article(&a.id, &valid(&input), Some(a4.version))
        .await
        .unwrap();
    assert!(uses(three.id.clone()).await.is_empty());
    assert!(uses(two.id.clone()).await.is_empty());

    // A deleted article stays as a tombstone with its content, which an
    // update restores: its images stay in use, as before migration 21.
    input.translations[0].body = format!("![Three](/media/{})", three.id);
    store
        .update_article(&a.id, &valid(&input), Some(a5.version))
        .await
        .unwrap();
    store.set_article_status(&a.id, ArticleStatus::Deleted).await.unwrap();
    assert_eq!(uses(three.id.clone()).await, vec![used("inline")]);
    assert!(matches!(
        store.delete_media(&three.id).await,
        Err(StoreError::Conflict { .. })
    ));
}

async fn tokens_create_verify_revoke(store: &Store) {
    let (token, secret) = store.create_token("ci").await.unwrap();
    assert!(secret.starts_with("gzt_"));
    assert_eq!(
        store.verify_token(&secret).await.unwrap().map(|t| t.id),
        Some(token.id.clone())
    );
    assert!(store.verify_token("gzt_wrong").await.unwrap().is_none());
    assert!(store.list_tokens().await.unwrap()[0].last_used_at.is_some());
    store.revoke_token("ci").await.unwrap();
    assert!(store.verify_token(&secret).await.unwrap().is_none());
    assert!(matches!(
        store.revoke_token("ci").await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(store.create_token(" ").await, Err(StoreError::Invalid { .. })));
}

/// A token belongs to a user and is revoked when they are disabled; one
/// past its expiry is refused; its last use is recorded.
async fn tokens_belong_to_users_and_expire(store: &Store) {
    let new_user = |name: &str| gazette_store::NewUser {
        username: name.into(),
        display_name: String::new(),
        role: gazette_store::Role::Admin,
        author: None,
    };
    store
        .create_user(&new_user("ada"), Some("a long enough password"))
        .await
        .unwrap();
    store
        .create_user(&new_user("bob"), Some("a long enough password"))
        .await
        .unwrap();
    let (token, secret) = store.create_token_for("ada's", Some("ada"), None).await.unwrap();
    assert_eq!(token.owner.as_deref(), Some("ada"));
    let (_, cli_secret) = store.create_token("cli").await.unwrap();
    let used = store.verify_token(&secret).await.unwrap().unwrap();
    assert_eq!(used.owner.as_deref(), Some("ada"));
    let listed = store.list_tokens().await.unwrap();
    assert!(listed.iter().find(|t| t.id == token.id).unwrap().last_used_at.is_some());

    store.set_user_disabled("ada", true).await.unwrap();
    assert!(store.verify_token(&secret).await.unwrap().is_none(), "disabled owner");
    assert!(store.verify_token(&cli_secret).await.unwrap().is_some());
    let listed = store.list_tokens().await.unwrap();
    assert!(listed.iter().find(|t| t.id == token.id).unwrap().revoked_at.is_some());
    // Enabling the user again does not bring the token back.
    store.set_user_disabled("ada", false).await.unwrap();
    assert!(store.verify_token(&secret).await.unwrap().is_none());
    assert!(matches!(
        store.create_token_for("x", Some("nobody"), None).await,
        Err(StoreError::NotFound { .. })
    ));

    // Expiry: refused in the past at creation, refused once reached.
    assert!(matches!(
        store
            .create_token_for("old", Some("bob"), Some(Utc::now() - Duration::seconds(1)))
            .await,
        Err(StoreError::Invalid { .. })
    ));
    let (short, short_secret) = store
        .create_token_for("short", Some("bob"), Some(Utc::now() + Duration::milliseconds(300)))
        .await
        .unwrap();
    assert!(short.expires_at.is_some());
    assert!(store.verify_token(&short_secret).await.unwrap().is_some());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while store.verify_token(&short_secret).await.unwrap().is_some() {
        assert!(std::time::Instant::now() < deadline, "the token never expired");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn article_with_media_is_one_transaction(store: &Store) {
    author(store, "lea").await;
    let info = ImageInfo {
        content_type: "image/png",
        width: 1,
        height: 1,
    };
    let media = vec![NewMedia {
        key: "cover.png".into(),
        info: info.clone(),
        alt: "A dot".into(),
        bytes: PNG.to_vec(),
    }];
    let mut input = article_input("with-cover", "lea");
    input.cover = Some(CoverInput {
        media_id: "cover.png".into(),
        alt: "A dot on white".into(),
    });
    // Refused (unknown author): the image must not stay behind.
    let mut bad = input.clone();
    bad.author = "nobody".into();
    assert!(store.create_article_with_media(&valid(&bad), &media).await.is_err());
    assert!(store.list_media(10, 0).await.unwrap().is_empty());
    let a = store.create_article_with_media(&valid(&input), &media).await.unwrap();
    let cover = a.cover.unwrap();
    assert_ne!(cover.media_id, "cover.png");
    assert_eq!(store.get_media(&cover.media_id).await.unwrap().alt, "A dot");
    // The same bytes again reuse the stored image.
    let mut again = input.clone();
    again.slug = Some("with-cover-2".into());
    let b = store.create_article_with_media(&valid(&again), &media).await.unwrap();
    assert_eq!(b.cover.unwrap().media_id, cover.media_id);
    assert_eq!(store.list_media(10, 0).await.unwrap().len(), 1);
}

async fn concurrent_writers_all_succeed(store: &Store) {
    author(store, "lea").await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .create_article(&valid(&article_input(&format!("c-{i}"), "lea")))
                .await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(
        store
            .list_articles(&ArticleQuery {
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap()
            .total,
        16
    );
}

async fn article_view_joins_author_and_organisation(store: &Store) {
    let a = author(store, "lea").await;
    store
        .create_article(&valid(&article_input("viewed", "lea")))
        .await
        .unwrap();
    let v = store.find_article_view("viewed").await.unwrap().unwrap();
    assert_eq!(v.author, a);
    assert!(v.organisation.is_none(), "no organisation yet");
    assert_eq!(v.article, store.get_article_by_slug("viewed").await.unwrap());
    let org = Organisation {
        username: "demo".into(),
        name: "Coop".into(),
        description: "D".into(),
        logo: None,
        website: None,
        country: Country::parse("FR").unwrap(),
        legal_form: LegalForm::Mutual,
        sectors: vec![],
        languages: vec![Language::parse("fr").unwrap()],
        updated_at: Utc::now(),
    };
    let saved = store.save_organisation(&org).await.unwrap();
    let v = store.find_article_view("viewed").await.unwrap().unwrap();
    assert_eq!(v.organisation, Some(saved));
    assert!(store.find_article_view("nope").await.unwrap().is_none());
}

/// Each write that changes what the public sees records its event in the
/// same transaction; writes that do not (drafts) record none.
async fn changes_record_what_followers_must_hear(store: &Store) {
    author(store, "ana").await;
    let events = |store: &Store| {
        let store = store.clone();
        async move {
            store
                .pending_article_events(100)
                .await
                .unwrap()
                .into_iter()
                .map(|e| (e.event, e.version))
                .collect::<Vec<_>>()
        }
    };
    let mut draft = article_input("quiet", "ana");
    draft.status = Some("draft".into());
    let a = store.create_article(&valid(&draft)).await.unwrap();
    assert_eq!(events(store).await, vec![]);
    let a = store.set_article_status(&a.id, ArticleStatus::Published).await.unwrap();
    let mut edit = article_input("quiet", "ana");
    edit.tags = vec!["edited".into()];
    let b = store
        .update_article(&a.id, &valid(&edit), Some(a.version))
        .await
        .unwrap();
    let c = store.set_article_status(&a.id, ArticleStatus::Deleted).await.unwrap();
    assert_eq!(
        events(store).await,
        vec![
            (ArticleEvent::Published, a.version),
            (ArticleEvent::Updated, b.version),
            (ArticleEvent::Deleted, c.version),
        ]
    );
    // A refused write records nothing.
    assert!(store.update_article(&a.id, &valid(&edit), Some(1)).await.is_err());
    assert_eq!(events(store).await.len(), 3);
    for e in store.pending_article_events(100).await.unwrap() {
        store.finish_article_event(&e.id).await.unwrap();
    }
    assert_eq!(events(store).await, vec![]);

    let fresh = store
        .create_article(&valid(&article_input("loud", "ana")))
        .await
        .unwrap();
    let mut later = article_input("later", "ana");
    later.status = Some("scheduled".into());
    let at = Utc::now() + Duration::seconds(60);
    later.publish_at = Some(at.to_rfc3339());
    let s = store.create_article(&valid(&later)).await.unwrap();
    store.publish_due(at + Duration::seconds(1)).await.unwrap();
    let pending = store.pending_article_events(100).await.unwrap();
    assert_eq!(
        pending
            .iter()
            .map(|e| (e.article_id.clone(), e.event, e.version))
            .collect::<Vec<_>>(),
        vec![
            (fresh.id, ArticleEvent::Published, 1),
            (s.id, ArticleEvent::Published, s.version + 1),
        ]
    );
}

async fn article_counts_follow_every_status_change(store: &Store) {
    author(store, "cora").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let mut input = article_input(&format!("count-{i}"), "cora");
        if i >= 3 {
            input.status = Some("draft".into());
        }
        ids.push(store.create_article(&valid(&input)).await.unwrap().id);
    }
    let counts = |store: &Store| {
        let store = store.clone();
        async move {
            let mut out = Vec::new();
            for s in [
                ArticleStatus::Draft,
                ArticleStatus::Scheduled,
                ArticleStatus::Published,
                ArticleStatus::Deleted,
            ] {
                out.push(store.count_articles(s).await.unwrap());
            }
            out
        }
    };
    assert_eq!(counts(store).await, [2, 0, 3, 0]);
    store.set_article_status(&ids[0], ArticleStatus::Draft).await.unwrap();
    store.set_article_status(&ids[3], ArticleStatus::Deleted).await.unwrap();
    store.set_article_status(&ids[4], ArticleStatus::Draft).await.unwrap();
    assert_eq!(counts(store).await, [2, 0, 2, 1], "a status kept is not counted twice");
    let listed = |statuses: Vec<ArticleStatus>| ArticleQuery {
        statuses,
        limit: 2,
        ..Default::default()
    };
    let all = store.list_articles(&listed(Vec::new())).await.unwrap();
    assert_eq!(all.total, 4, "every article but the deleted one");
    assert_eq!(all.articles.len(), 2);
    let shown = store
        .list_articles(&listed(vec![ArticleStatus::Draft, ArticleStatus::Published]))
        .await
        .unwrap();
    assert_eq!(shown.total, 4);
    let last_page = store
        .list_articles(&ArticleQuery {
            offset: 3,
            ..listed(Vec::new())
        })
        .await
        .unwrap();
    assert_eq!(last_page.articles.len(), 1);
    assert_eq!(last_page.articles[0].id, ids[0], "oldest last");
}

/// Articles stored before migration 21 get their image references from
/// the migration itself, by the same rule as the store's writes: with the
/// table dropped and the migration applied again, every use is as before.
async fn media_refs_filled_for_older_articles(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let store = &db.store;
    author(store, "lea").await;
    let info = ImageInfo {
        content_type: "image/png",
        width: 1,
        height: 1,
    };
    let mut media = Vec::new();
    for alt in ["Cover", "Inline", "Photo", "Unused"] {
        media.push(store.create_media(&info, alt, PNG).await.unwrap());
    }
    let ids: Vec<&str> = media.iter().map(|m| m.id.as_str()).collect();
    let mut input = article_input("older-one", "lea");
    input.cover = Some(CoverInput {
        media_id: ids[0].into(),
        alt: "A cover".into(),
    });
    input.translations[0].body = format!(
        "![A](/media/{i}) <img alt=\"B\" src=\"https://x.example/media/{i}\"> /media//media/{c}x",
        i = ids[1],
        c = ids[0]
    );
    input.translations[1].body = format!("Also ![C](/media/media/{})", ids[1]);
    store.create_article(&valid(&input)).await.unwrap();
    let mut input = article_input("older-two", "lea");
    input.kind = "interview".into();
    input.interviewee = Some(Interviewee {
        name: "Ana".into(),
        photo: Some(ids[2].into()),
        ..Default::default()
    });
    input.translations[1].body = format!("![Photo](/media/{})", ids[2]);
    store.create_article(&valid(&input)).await.unwrap();
    let before = store.media_uses_of(&ids).await.unwrap();
    assert_eq!(before.len(), 3, "{before:?}");
    assert_eq!(before[ids[2]].len(), 2, "{before:?}");

    // As an older version left the database (through a second connection).
    sqlx::any::install_default_drivers();
    let raw = sqlx::AnyPool::connect(&db.url).await.unwrap();
    for sql in [
        "DROP TABLE article_media_refs",
        "DELETE FROM gazette_migrations WHERE version = 21",
    ] {
        sqlx::query(sql).execute(&raw).await.unwrap();
    }
    raw.close().await;
    assert_eq!(store.migrate().await.unwrap(), vec![21]);
    assert_eq!(store.media_uses_of(&ids).await.unwrap(), before);
}

#[tokio::test]
async fn media_refs_filled_for_older_articles_sqlite() {
    media_refs_filled_for_older_articles(Backend::Sqlite).await;
}

#[tokio::test]
async fn media_refs_filled_for_older_articles_postgres() {
    media_refs_filled_for_older_articles(Backend::Postgres).await;
}

async fn newsletter_subscribe_confirm_publish_unsubscribe(store: &Store) {
    use gazette_store::{NewsletterMailKind, Subscribed, SubscriberCount};
    let key = store.newsletter_key().await.unwrap();
    assert_eq!(store.newsletter_key().await.unwrap(), key, "one key");
    let hour = Duration::hours(1);
    assert_eq!(
        store.subscribe("ana@coop.example", "fr", hour).await.unwrap(),
        Subscribed::Queued
    );
    assert_eq!(
        store.subscribe("ana@coop.example", "en", hour).await.unwrap(),
        Subscribed::Unchanged
    );
    assert_eq!(
        store
            .subscribe("ana@coop.example", "en", Duration::zero())
            .await
            .unwrap(),
        Subscribed::Requeued
    );
    let due = store.due_newsletter_mails(Utc::now(), 10).await.unwrap();
    assert_eq!(due.len(), 1, "one confirmation queued, the first replaced");
    assert_eq!(due[0].kind, NewsletterMailKind::Confirm);
    assert_eq!(due[0].language, "en");
    let id = due[0].subscriber_id.clone();
    store.finish_newsletter_mails(&[due[0].id.clone()]).await.unwrap();

    // Before anyone confirmed, a publish queues nothing.
    author(store, "lea").await;
    let mut draft = article_input("first", "lea");
    draft.status = Some("draft".into());
    let first = store.create_article(&valid(&draft)).await.unwrap();
    store
        .set_article_status(&first.id, ArticleStatus::Published)
        .await
        .unwrap();
    assert_eq!(store.expand_newsletter_issues().await.unwrap(), 0);

    assert!(store.confirm_subscriber(&id).await.unwrap());
    draft.slug = Some("second".into());
    let second = store.create_article(&valid(&draft)).await.unwrap();
    store
        .set_article_status(&second.id, ArticleStatus::Published)
        .await
        .unwrap();
    // An edit, and publishing again after unpublishing, queue nothing more.
    store
        .set_article_status(&second.id, ArticleStatus::Draft)
        .await
        .unwrap();
    store
        .set_article_status(&second.id, ArticleStatus::Published)
        .await
        .unwrap();
    assert_eq!(store.expand_newsletter_issues().await.unwrap(), 1);
    assert_eq!(store.expand_newsletter_issues().await.unwrap(), 0);
    // Old posts imported as published are never mailed, with or without
    // `--federate` (which tells followers only).
    for (n, federate) in [(1, false), (2, true)] {
        let mut old = article_input(&format!("imported-{n}"), "lea");
        old.status = Some("published".into());
        let post = gazette_store::ImportedPost {
            source: "https://old.coop.example".into(),
            guid: format!("https://old.coop.example/?p={n}"),
            old_path: None,
            article: valid(&old),
            images: Vec::new(),
            federate,
            digest: format!("digest-{n}"),
        };
        store.save_imported_post(&post).await.unwrap();
    }
    assert_eq!(
        store.expand_newsletter_issues().await.unwrap(),
        0,
        "imports mail nobody"
    );
    let due = store.due_newsletter_mails(Utc::now(), 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].kind, NewsletterMailKind::Article(second.id.clone()));
    store
        .retry_newsletter_mail(&due[0].id, Utc::now() + hour, "server down")
        .await
        .unwrap();
    assert!(store.due_newsletter_mails(Utc::now(), 10).await.unwrap().is_empty());
    assert!(store.next_newsletter_mail_at().await.unwrap().is_some());

    assert_eq!(
        store.subscriber_counts().await.unwrap(),
        vec![SubscriberCount {
            language: "en".into(),
            confirmed: 1,
            pending: 0
        }]
    );
    assert_eq!(store.list_subscribers().await.unwrap().len(), 1);
    assert!(store.unsubscribe(&id).await.unwrap());
    assert_eq!(
        store.count_newsletter_queue().await.unwrap(),
        0,
        "its mails went with it"
    );
    assert!(store.find_subscriber(&id).await.unwrap().is_none());
    assert!(
        !store.confirm_subscriber(&id).await.unwrap(),
        "a stale link confirms nothing"
    );

    store.subscribe("bo@coop.example", "fr", hour).await.unwrap();
    assert_eq!(store.forget_unconfirmed(Utc::now() + hour).await.unwrap(), 1);
    assert!(!store.remove_subscriber_email("bo@coop.example").await.unwrap());
}
