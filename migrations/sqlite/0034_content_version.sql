-- Writes that change what readers see, version 34 (SQLite). Keep in step
-- with migrations/postgres/0034_content_version.sql.
--
-- A server keeps public answers in memory and drops them when the store
-- reports a change (crates/store/src/changes.rs). On SQLite that report
-- was any commit (`PRAGMA data_version`), so the delivery worker's own
-- bookkeeping, a commit per delivery, emptied the cache many times a
-- second while an article went out: just when a thousand servers fetch
-- it. Here every write to a table whose rows can appear in a public
-- answer counts in `content_version` (one row), and the watch reads that
-- counter when `data_version` moves, so only those writes empty the cache;
-- every commit still wakes the workers. Tables left out (deliveries,
-- sessions, tokens, rate counters, the newsletter's queue, reports, the
-- search and count tables derived from a counted table) are listed in
-- crates/store/src/changes.rs, whose test fails on a table in neither.
CREATE TABLE content_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);
INSERT INTO content_version (id, n) VALUES (1, 0);

CREATE TRIGGER actor_blocks_content_ai AFTER INSERT ON actor_blocks BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER actor_blocks_content_au AFTER UPDATE ON actor_blocks BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER actor_blocks_content_ad AFTER DELETE ON actor_blocks BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER actor_keys_content_ai AFTER INSERT ON actor_keys BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER actor_keys_content_au AFTER UPDATE ON actor_keys BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER actor_keys_content_ad AFTER DELETE ON actor_keys BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER article_events_content_ai AFTER INSERT ON article_events BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER article_events_content_au AFTER UPDATE ON article_events BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER article_events_content_ad AFTER DELETE ON article_events BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER article_media_refs_content_ai AFTER INSERT ON article_media_refs BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER article_media_refs_content_au AFTER UPDATE ON article_media_refs BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER article_media_refs_content_ad AFTER DELETE ON article_media_refs BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER article_tags_content_ai AFTER INSERT ON article_tags BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER article_tags_content_au AFTER UPDATE ON article_tags BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER article_tags_content_ad AFTER DELETE ON article_tags BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER article_translations_content_ai AFTER INSERT ON article_translations BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER article_translations_content_au AFTER UPDATE ON article_translations BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER article_translations_content_ad AFTER DELETE ON article_translations BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER articles_content_ai AFTER INSERT ON articles BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER articles_content_au AFTER UPDATE ON articles BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER articles_content_ad AFTER DELETE ON articles BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER authors_content_ai AFTER INSERT ON authors BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER authors_content_au AFTER UPDATE ON authors BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER authors_content_ad AFTER DELETE ON authors BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER comments_content_ai AFTER INSERT ON comments BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER comments_content_au AFTER UPDATE ON comments BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER comments_content_ad AFTER DELETE ON comments BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER domain_allows_content_ai AFTER INSERT ON domain_allows BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER domain_allows_content_au AFTER UPDATE ON domain_allows BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER domain_allows_content_ad AFTER DELETE ON domain_allows BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER domain_blocks_content_ai AFTER INSERT ON domain_blocks BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER domain_blocks_content_au AFTER UPDATE ON domain_blocks BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER domain_blocks_content_ad AFTER DELETE ON domain_blocks BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER followers_content_ai AFTER INSERT ON followers BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER followers_content_au AFTER UPDATE ON followers BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER followers_content_ad AFTER DELETE ON followers BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER following_content_ai AFTER INSERT ON following BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER following_content_au AFTER UPDATE ON following BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER following_content_ad AFTER DELETE ON following BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER import_items_content_ai AFTER INSERT ON import_items BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER import_items_content_au AFTER UPDATE ON import_items BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER import_items_content_ad AFTER DELETE ON import_items BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER import_media_content_ai AFTER INSERT ON import_media BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER import_media_content_au AFTER UPDATE ON import_media BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER import_media_content_ad AFTER DELETE ON import_media BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER instance_identity_content_ai AFTER INSERT ON instance_identity BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER instance_identity_content_au AFTER UPDATE ON instance_identity BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER instance_identity_content_ad AFTER DELETE ON instance_identity BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER instance_settings_content_ai AFTER INSERT ON instance_settings BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER instance_settings_content_au AFTER UPDATE ON instance_settings BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER instance_settings_content_ad AFTER DELETE ON instance_settings BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER interactions_content_ai AFTER INSERT ON interactions BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER interactions_content_au AFTER UPDATE ON interactions BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER interactions_content_ad AFTER DELETE ON interactions BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER media_content_ai AFTER INSERT ON media BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER media_content_au AFTER UPDATE ON media BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER media_content_ad AFTER DELETE ON media BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER network_item_languages_content_ai AFTER INSERT ON network_item_languages BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER network_item_languages_content_au AFTER UPDATE ON network_item_languages BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER network_item_languages_content_ad AFTER DELETE ON network_item_languages BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER network_item_tags_content_ai AFTER INSERT ON network_item_tags BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER network_item_tags_content_au AFTER UPDATE ON network_item_tags BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER network_item_tags_content_ad AFTER DELETE ON network_item_tags BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER network_items_content_ai AFTER INSERT ON network_items BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER network_items_content_au AFTER UPDATE ON network_items BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER network_items_content_ad AFTER DELETE ON network_items BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER network_member_sectors_content_ai AFTER INSERT ON network_member_sectors BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER network_member_sectors_content_au AFTER UPDATE ON network_member_sectors BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER network_member_sectors_content_ad AFTER DELETE ON network_member_sectors BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER network_members_content_ai AFTER INSERT ON network_members BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER network_members_content_au AFTER UPDATE ON network_members BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER network_members_content_ad AFTER DELETE ON network_members BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER organisation_content_ai AFTER INSERT ON organisation BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER organisation_content_au AFTER UPDATE ON organisation BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER organisation_content_ad AFTER DELETE ON organisation BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER outbound_interactions_content_ai AFTER INSERT ON outbound_interactions BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER outbound_interactions_content_au AFTER UPDATE ON outbound_interactions BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER outbound_interactions_content_ad AFTER DELETE ON outbound_interactions BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER remote_actors_content_ai AFTER INSERT ON remote_actors BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER remote_actors_content_au AFTER UPDATE ON remote_actors BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER remote_actors_content_ad AFTER DELETE ON remote_actors BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER remote_articles_content_ai AFTER INSERT ON remote_articles BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER remote_articles_content_au AFTER UPDATE ON remote_articles BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER remote_articles_content_ad AFTER DELETE ON remote_articles BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER users_content_ai AFTER INSERT ON users BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER users_content_au AFTER UPDATE ON users BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER users_content_ad AFTER DELETE ON users BEGIN UPDATE content_version SET n = n + 1; END;
