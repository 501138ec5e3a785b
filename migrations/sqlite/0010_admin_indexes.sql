-- Indexes for the admin pages at scale, version 10 (SQLite). Keep in step
-- with migrations/postgres/0010_admin_indexes.sql. Only indexes: nothing
-- here depends on another migration's tables changing.

-- Followers of one local actor by status, newest first: the followers page
-- (a page is read from the index alone), its counts and the dashboard's.
CREATE INDEX followers_by_actor_status_date ON followers (local_actor, status, created_at DESC, follower);

-- Replies by status over every article, newest first: the moderation queue.
CREATE INDEX comments_by_status_date ON comments (status, published_at DESC);

-- Articles newest first whatever their status: the admin articles list.
CREATE INDEX articles_by_date ON articles (COALESCE(published_at, created_at) DESC, id DESC);
