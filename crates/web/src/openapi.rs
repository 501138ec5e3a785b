//! `GET /api/openapi.json`: the REST API described as OpenAPI 3.1, written by
//! hand next to the handlers (no macros, no build step) so that the document
//! reads like the API and a test can check it against the router.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::AppState;

/// `GET /api/openapi.json` — public, so tools can discover the API before they hold a token.
pub(crate) async fn get_openapi(State(state): State<AppState>) -> Json<Value> {
    Json(document(&state.config().public_url))
}

/// A reference to a component schema.
fn schema(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn response(name: &str) -> Value {
    json!({ "$ref": format!("#/components/responses/{name}") })
}

fn param(name: &str) -> Value {
    json!({ "$ref": format!("#/components/parameters/{name}") })
}

fn json_body(description: &str, s: Value) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": s } } })
}

/// The document for an instance at `public_url`.
pub(crate) fn document(public_url: &str) -> Value {
    let secured = json!([{ "bearerAuth": [] }]);

    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Gazette REST API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Publish news and interviews, upload images, edit the organisation profile and watch the delivery queue of a \
                Gazette instance. Every endpoint except this document needs `Authorization: Bearer <token>` \
                (create a token with `gazette token create`). Errors are always JSON: \
                `{\"error\": {\"code\", \"message\", \"field\", \"details\"}}`, with `field` naming the \
                offending input (`title`, `translations.en.body`, `cover.alt`, `file`…).",
            "license": { "name": "AGPL-3.0-or-later", "identifier": "AGPL-3.0-or-later" }
        },
        "servers": [{ "url": public_url }],
        "security": secured,
        "tags": [
            { "name": "articles" }, { "name": "authors" }, { "name": "media" }, { "name": "organisation" }, { "name": "deliveries" }, { "name": "followers" }, { "name": "safety" }, { "name": "network" }, { "name": "meta" }
        ],
        "paths": merge(merge(merge(paths(), follower_paths()), safety_paths()), network_paths()),
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http", "scheme": "bearer",
                    "description": "An API token from `gazette token create`, sent as `Authorization: Bearer gzt_…`"
                }
            },
            "headers": {
                "ArticleETag": { "description": "`\"<version>\"` of the article", "schema": { "type": "string", "examples": ["\"3\""] } }
            },
            "parameters": {
                "IdOrSlug": { "name": "id_or_slug", "in": "path", "required": true, "description": "Article id or slug", "schema": { "type": "string" } },
                "IdOrUsername": { "name": "id_or_username", "in": "path", "required": true, "description": "Author id or username", "schema": { "type": "string" } },
                "MediaId": { "name": "id", "in": "path", "required": true, "schema": { "type": "string" } },
                "Page": { "name": "page", "in": "query", "schema": { "type": "integer", "minimum": 1, "default": 1 } },
                "PerPage": { "name": "per_page", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 100, "default": 20 } },
                "IfMatch": {
                    "name": "If-Match", "in": "header",
                    "description": "`\"<version>\"` the edit is based on (the article's ETag); `*` skips the check",
                    "schema": { "type": "string" }
                }
            },
            "responses": {
                "BadRequest": { "description": "Malformed request: `invalid_json` (with the field, line and column), `invalid_query`, `invalid_multipart`, `invalid`", "content": { "application/json": { "schema": schema("Error") } } },
                "Unauthorized": {
                    "description": "Missing, invalid or revoked token (`unauthorized`)",
                    "headers": { "WWW-Authenticate": { "schema": { "type": "string", "examples": ["Bearer realm=\"gazette\""] } } },
                    "content": { "application/json": { "schema": schema("Error") } }
                },
                "NotFound": { "description": "No such resource (`not_found`)", "content": { "application/json": { "schema": schema("Error") } } },
                "RemoteFailed": { "description": "Another server answered with an error or could not be reached (`remote_failed`); the message names the host, the HTTP status and the server's own message", "content": { "application/json": { "schema": schema("Error") } } },
                "Conflict": { "description": "A unique value is taken (`conflict`, e.g. field `slug` or `username`), or the article changed since the given version (`stale_version`)", "content": { "application/json": { "schema": schema("Error") } } },
                "TooLarge": { "description": "The body or file is over the limit (`too_large`, field `file` for uploads)", "content": { "application/json": { "schema": schema("Error") } } },
                "UnsupportedMediaType": { "description": "Wrong body type, or an upload that is not a JPEG, PNG, GIF or WebP image (`unsupported_media_type`, field `file`)", "content": { "application/json": { "schema": schema("Error") } } },
                "ValidationFailed": { "description": "One or more fields are invalid; `field` names the first, `details` lists them all. Also `invalid_json` for a body of the wrong shape", "content": { "application/json": { "schema": schema("Error") } } }
            },
            "schemas": schemas()
        }
    })
}

/// Every endpoint, under its full path (the server URL is the instance origin).
fn paths() -> Value {
    let article_etag = || {
        json!({
            "description": "The article; its ETag is the version to send back in If-Match",
            "headers": { "ETag": { "$ref": "#/components/headers/ArticleETag" } },
            "content": { "application/json": { "schema": schema("Article") } }
        })
    };
    let author = || json_body("The author", schema("Author"));
    let media = || json_body("The image's metadata", schema("Media"));
    let organisation = || json_body("The organisation profile", schema("Organisation"));
    let settings = || {
        json_body(
            "Every setting by name",
            json!({ "type": "object", "required": ["settings"], "properties": { "settings": {
                "type": "object", "additionalProperties": {
                    "type": "object",
                    "properties": {
                        "value": { "type": "string" }, "default": { "type": "string" },
                        "overridden": { "type": "boolean" }, "updated_at": { "type": ["string", "null"], "format": "date-time" }
                    }
                }
            } } }),
        )
    };
    let created = |what: &str, s: Value| {
        json!({
            "description": format!("{what} created"),
            "headers": { "Location": { "description": "API URL of the new resource", "schema": { "type": "string", "format": "uri" } } },
            "content": { "application/json": { "schema": s } }
        })
    };
    let no_content = || json!({ "description": "Done; no body" });
    json!({
            "/api/openapi.json": {
                "get": {
                    "operationId": "getOpenapi", "tags": ["meta"], "summary": "This document",
                    "security": [],
                    "responses": { "200": { "description": "The OpenAPI document", "content": { "application/json": { "schema": { "type": "object" } } } } }
                }
            },
            "/api/articles": {
                "get": {
                    "operationId": "listArticles", "tags": ["articles"],
                    "summary": "List articles, newest first (all but deleted ones unless `status` says otherwise)",
                    "parameters": [
                        { "name": "status", "in": "query", "description": "Comma-separated statuses, e.g. `draft,published`",
                          "schema": { "type": "string", "examples": ["published", "draft,scheduled"] } },
                        { "name": "kind", "in": "query", "schema": schema("ArticleKind") },
                        { "name": "tag", "in": "query", "schema": { "type": "string" } },
                        { "name": "lang", "in": "query", "description": "Only articles with a translation in this BCP 47 language",
                          "schema": { "type": "string" } },
                        { "name": "q", "in": "query", "description": "Case-insensitive text in a title or slug", "schema": { "type": "string" } },
                        param("Page"),
                        param("PerPage")
                    ],
                    "responses": {
                        "200": json_body("One page of articles", schema("ArticleList")),
                        "401": response("Unauthorized"),
                        "422": response("ValidationFailed")
                    }
                },
                "post": {
                    "operationId": "createArticle", "tags": ["articles"],
                    "summary": "Create an article (a draft unless `status` says otherwise)",
                    "requestBody": { "required": true, "content": { "application/json": { "schema": schema("ArticleInput") } } },
                    "responses": {
                        "201": created("Article", schema("Article")),
                        "400": response("BadRequest"),
                        "401": response("Unauthorized"),
                        "409": response("Conflict"),
                        "413": response("TooLarge"),
                        "415": response("UnsupportedMediaType"),
                        "422": response("ValidationFailed")
                    }
                }
            },
            "/api/articles/{id_or_slug}": {
                "parameters": [param("IdOrSlug")],
                "get": {
                    "operationId": "getArticle", "tags": ["articles"], "summary": "One article, whatever its status",
                    "responses": { "200": article_etag(), "401": response("Unauthorized"), "404": response("NotFound") }
                },
                "put": {
                    "operationId": "updateArticle", "tags": ["articles"],
                    "summary": "Replace an article's content, keeping its id",
                    "description": "The version the edit is based on may be given as `If-Match`, `?version=` or `version` \
                        in the body; if the article was saved since, the answer is 409 `stale_version`. Without \
                        `status`, the article keeps its status (a deleted one comes back as a draft).",
                    "parameters": [
                        param("IfMatch"),
                        { "name": "version", "in": "query", "schema": { "type": "integer", "minimum": 1 } }
                    ],
                    "requestBody": { "required": true, "content": { "application/json": { "schema": {
                        "allOf": [schema("ArticleInput")],
                        "properties": { "version": { "type": "integer", "minimum": 1, "description": "The version this edit is based on" } }
                    } } } },
                    "responses": {
                        "200": article_etag(),
                        "400": response("BadRequest"),
                        "401": response("Unauthorized"),
                        "404": response("NotFound"),
                        "409": response("Conflict"),
                        "413": response("TooLarge"),
                        "415": response("UnsupportedMediaType"),
                        "422": response("ValidationFailed")
                    }
                },
                "delete": {
                    "operationId": "deleteArticle", "tags": ["articles"],
                    "summary": "Delete an article (kept as a tombstone: its page answers 410 Gone)",
                    "responses": { "204": no_content(), "401": response("Unauthorized"), "404": response("NotFound") }
                }
            },
            "/api/articles/{id_or_slug}/publish": {
                "parameters": [param("IdOrSlug")],
                "post": {
                    "operationId": "publishArticle", "tags": ["articles"], "summary": "Make an article public now",
                    "responses": { "200": article_etag(), "401": response("Unauthorized"), "404": response("NotFound") }
                }
            },
            "/api/articles/{id_or_slug}/unpublish": {
                "parameters": [param("IdOrSlug")],
                "post": {
                    "operationId": "unpublishArticle", "tags": ["articles"], "summary": "Take an article back to draft",
                    "responses": { "200": article_etag(), "401": response("Unauthorized"), "404": response("NotFound") }
                }
            },
            "/api/authors": {
                "get": {
                    "operationId": "listAuthors", "tags": ["authors"], "summary": "Every author, by name",
                    "responses": { "200": json_body("The authors", schema("AuthorList")), "401": response("Unauthorized") }
                },
                "post": {
                    "operationId": "createAuthor", "tags": ["authors"], "summary": "Create an author",
                    "requestBody": { "required": true, "content": { "application/json": { "schema": schema("AuthorInput") } } },
                    "responses": {
                        "201": created("Author", schema("Author")),
                        "400": response("BadRequest"),
                        "401": response("Unauthorized"),
                        "409": response("Conflict"),
                        "415": response("UnsupportedMediaType"),
                        "422": response("ValidationFailed")
                    }
                }
            },
            "/api/authors/{id_or_username}": {
                "parameters": [param("IdOrUsername")],
                "get": {
                    "operationId": "getAuthor", "tags": ["authors"], "summary": "One author",
                    "responses": { "200": author(), "401": response("Unauthorized"), "404": response("NotFound") }
                },
                "put": {
                    "operationId": "updateAuthor", "tags": ["authors"], "summary": "Replace an author's profile, keeping the id",
                    "requestBody": { "required": true, "content": { "application/json": { "schema": schema("AuthorInput") } } },
                    "responses": {
                        "200": author(),
                        "400": response("BadRequest"),
                        "401": response("Unauthorized"),
                        "404": response("NotFound"),
                        "409": response("Conflict"),
                        "415": response("UnsupportedMediaType"),
                        "422": response("ValidationFailed")
                    }
                },
                "delete": {
                    "operationId": "deleteAuthor", "tags": ["authors"], "summary": "Delete an author who has no articles",
                    "responses": {
                        "204": no_content(),
                        "401": response("Unauthorized"),
                        "404": response("NotFound"),
                        "409": response("Conflict")
                    }
                }
            },
            "/api/media": {
                "get": {
                    "operationId": "listMedia", "tags": ["media"], "summary": "Uploaded images, newest first",
                    "parameters": [param("Page"), param("PerPage")],
                    "responses": {
                        "200": json_body("One page of images", schema("MediaList")),
                        "401": response("Unauthorized"),
                        "422": response("ValidationFailed")
                    }
                },
                "post": {
                    "operationId": "uploadMedia", "tags": ["media"],
                    "summary": "Upload an image (JPEG, PNG, GIF or WebP) with its alt text",
                    "description": "The type is read from the bytes; the part's declared Content-Type and file name are ignored.",
                    "requestBody": { "required": true, "content": { "multipart/form-data": {
                        "schema": schema("MediaUpload"),
                        "encoding": { "file": { "contentType": "image/jpeg, image/png, image/gif, image/webp" } }
                    } } },
                    "responses": {
                        "201": created("Image", schema("Media")),
                        "400": response("BadRequest"),
                        "401": response("Unauthorized"),
                        "413": response("TooLarge"),
                        "415": response("UnsupportedMediaType"),
                        "422": response("ValidationFailed")
                    }
                }
            },
            "/api/media/{id}": {
                "parameters": [param("MediaId")],
                "get": {
                    "operationId": "getMedia", "tags": ["media"], "summary": "One image's metadata",
                    "responses": { "200": media(), "401": response("Unauthorized"), "404": response("NotFound") }
                }
            },
            "/media/{id}": {
                "parameters": [param("MediaId")],
                "get": {
                    "operationId": "getMediaBytes", "tags": ["media"],
                    "summary": "The image itself (public, cached for a year, ETag = SHA-256)",
                    "security": [],
                    "parameters": [{ "name": "If-None-Match", "in": "header", "schema": { "type": "string" } }],
                    "responses": {
                        "200": {
                            "description": "The image bytes",
                            "headers": {
                                "ETag": { "description": "`\"<sha256>\"` of the bytes", "schema": { "type": "string" } },
                                "Cache-Control": { "schema": { "type": "string", "const": "public, max-age=31536000, immutable" } }
                            },
                            "content": {
                                "image/jpeg": {}, "image/png": {}, "image/gif": {}, "image/webp": {}
                            }
                        },
                        "304": { "description": "Not modified: the If-None-Match ETag is current" },
                        "404": { "description": "No image has this id" }
                    }
                }
            },
            "/api/deliveries": {
                "get": {
                    "operationId": "getDeliveries", "tags": ["deliveries"],
                    "summary": "The outbound delivery queue per remote host, with totals (what `gazette deliveries --json` prints)",
                    "responses": {
                        "200": json_body("Per remote host, sorted by host, and totals", schema("DeliveryReport")),
                        "401": response("Unauthorized")
                    }
                }
            },
            "/api/organisation": {
                "get": {
                    "operationId": "getOrganisation", "tags": ["organisation"], "summary": "The organisation profile",
                    "responses": { "200": organisation(), "401": response("Unauthorized"), "404": response("NotFound") }
                },
                "put": {
                    "operationId": "updateOrganisation", "tags": ["organisation"], "summary": "Create or replace the organisation profile",
                    "requestBody": { "required": true, "content": { "application/json": { "schema": schema("OrganisationInput") } } },
                    "responses": {
                        "200": organisation(),
                        "400": response("BadRequest"),
                        "401": response("Unauthorized"),
                        "415": response("UnsupportedMediaType"),
                        "422": response("ValidationFailed")
                    }
                }
            },
            "/api/settings": {
                "get": {
                    "operationId": "getSettings", "tags": ["meta"],
                    "summary": "Instance settings changed at run time: the value in effect, the config file's, and whether a stored value overrides it",
                    "responses": { "200": settings(), "401": response("Unauthorized") }
                },
                "put": {
                    "operationId": "updateSettings", "tags": ["meta"],
                    "summary": "Change settings (`set`) and put others back to the config file's values (`reset`), all or nothing; takes effect at once",
                    "requestBody": { "required": true, "content": { "application/json": { "schema": {
                        "type": "object", "additionalProperties": false,
                        "properties": {
                            "set": { "type": "object", "additionalProperties": { "type": ["string", "boolean"] },
                                     "description": "instance.name, instance.default_language, federation.manually_approves_followers, theme.footer" },
                            "reset": { "type": "array", "items": { "type": "string" } }
                        }
                    } } } },
                    "responses": {
                        "200": settings(),
                        "400": response("BadRequest"),
                        "401": response("Unauthorized"),
                        "415": response("UnsupportedMediaType"),
                        "422": response("ValidationFailed")
                    }
                }
            }
    })
}

/// `a` with the keys of `b` added (documents are built in parts: one
/// `json!` call for everything would exceed serde_json's recursion limit).
fn merge(mut a: Value, b: Value) -> Value {
    if let (Some(a), Value::Object(b)) = (a.as_object_mut(), b) {
        a.extend(b);
    }
    a
}

/// Followers and the answer to pending follows.
fn follower_paths() -> Value {
    let answer = |op: &str, summary: &str| {
        json!({
            "post": {
                "operationId": op, "tags": ["followers"], "summary": summary,
                "requestBody": { "required": true, "content": { "application/json": { "schema": {
                    "type": "object", "required": ["follower"],
                    "properties": {
                        "follower": { "type": "string", "description": "Actor id or @name@host of the follower" },
                        "actor": { "type": "string", "description": "Username of the followed local actor; every one when absent" }
                    }
                } } } },
                "responses": {
                    "200": { "description": "The local actors whose pending follow was answered", "content": { "application/json": { "schema": {
                        "type": "object",
                        "properties": { "follower": { "type": "string" }, "actors": { "type": "array", "items": { "type": "string" } }, "approved": { "type": "boolean" } }
                    } } } },
                    "401": response("Unauthorized"),
                    "404": response("NotFound"),
                    "422": response("ValidationFailed")
                }
            }
        })
    };
    json!({
        "/api/followers": {
            "get": {
                "operationId": "listFollowers", "tags": ["followers"],
                "summary": "Followers of the organisation and the authors, newest first",
                "parameters": [
                    { "name": "status", "in": "query", "schema": { "type": "string", "enum": ["accepted", "pending"], "default": "accepted" } },
                    { "name": "actor", "in": "query", "description": "Username of one local actor", "schema": { "type": "string" } }
                ],
                "responses": {
                    "200": { "description": "Followers", "content": { "application/json": { "schema": {
                        "type": "object",
                        "properties": { "items": { "type": "array", "items": {
                            "type": "object",
                            "properties": {
                                "actor": { "type": "string" }, "follower": { "type": "string" }, "handle": { "type": "string" },
                                "name": { "type": "string" }, "status": { "type": "string", "enum": ["accepted", "pending"] },
                                "since": { "type": "string", "format": "date-time" }
                            }
                        } } }
                    } } } },
                    "401": response("Unauthorized"),
                    "404": response("NotFound"),
                    "422": response("ValidationFailed")
                }
            }
        },
        "/api/reports": {
            "get": {
                "operationId": "listReports", "tags": ["followers"],
                "summary": "Reports (Flag activities) from other servers, newest first",
                "parameters": [{ "name": "all", "in": "query", "description": "Include resolved reports", "schema": { "type": "boolean", "default": false } }],
                "responses": {
                    "200": { "description": "Reports", "content": { "application/json": { "schema": {
                        "type": "object",
                        "properties": { "items": { "type": "array", "items": {
                            "type": "object",
                            "properties": {
                                "id": { "type": "string" }, "reporter": { "type": "string" },
                                "targets": { "type": "array", "items": { "type": "string" } },
                                "content": { "type": "string" }, "status": { "type": "string", "enum": ["open", "resolved"] },
                                "created_at": { "type": "string", "format": "date-time" }
                            }
                        } } }
                    } } } },
                    "401": response("Unauthorized")
                }
            }
        },
        "/api/reports/resolve": {
            "post": {
                "operationId": "resolveReport", "tags": ["followers"], "summary": "Mark a report handled",
                "requestBody": { "required": true, "content": { "application/json": { "schema": {
                    "type": "object", "required": ["id"], "properties": { "id": { "type": "string" } }
                } } } },
                "responses": {
                    "200": { "description": "Resolved" },
                    "401": response("Unauthorized"),
                    "404": response("NotFound")
                }
            }
        },
        "/api/interactions": {
            "get": {
                "operationId": "listInteractions", "tags": ["followers"],
                "summary": "Likes, boosts and replies the organisation sent, newest first",
                "responses": {
                    "200": { "description": "Interactions", "content": { "application/json": { "schema": {
                        "type": "object",
                        "properties": { "items": { "type": "array", "items": interaction_schema() } }
                    } } } },
                    "401": response("Unauthorized")
                }
            },
            "post": {
                "operationId": "createInteraction", "tags": ["followers"],
                "summary": "Like, boost or reply to a remote article or note as the organisation",
                "requestBody": { "required": true, "content": { "application/json": { "schema": {
                    "type": "object", "required": ["kind", "object"],
                    "properties": {
                        "kind": { "type": "string", "enum": ["like", "announce", "boost", "reply"] },
                        "object": { "type": "string", "format": "uri", "description": "The remote object's URL" },
                        "content": { "type": "string", "description": "The reply's Markdown (replies only)" }
                    }
                } } } },
                "responses": {
                    "201": { "description": "Queued for delivery", "content": { "application/json": { "schema": interaction_schema() } } },
                    "401": response("Unauthorized"),
                    "409": response("Conflict"),
                    "422": response("ValidationFailed"),
                    "502": response("RemoteFailed")
                }
            }
        },
        "/api/interactions/{id}": {
            "delete": {
                "operationId": "deleteInteraction", "tags": ["followers"],
                "summary": "Take back a like or boost (Undo), or delete a reply (Delete)",
                "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }],
                "responses": {
                    "204": { "description": "Taken back; the activity is queued" },
                    "401": response("Unauthorized"),
                    "404": response("NotFound")
                }
            }
        },
        "/api/followers/approve": answer("approveFollower", "Accept pending follows from a follower"),
        "/api/followers/reject": answer("rejectFollower", "Refuse pending follows from a follower")
    })
}

/// A like, boost or reply sent by the organisation.
fn interaction_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "id": { "type": "string" },
            "actor_id": { "type": "string", "format": "uri" },
            "kind": { "type": "string", "enum": ["like", "announce", "reply"] },
            "object_id": { "type": "string", "format": "uri" },
            "object_actor": { "type": "string", "format": "uri" },
            "source": { "type": ["string", "null"] },
            "content_html": { "type": ["string", "null"] },
            "created_at": { "type": "string", "format": "date-time" },
            "deleted_at": { "type": ["string", "null"], "format": "date-time" },
            "note": { "type": "string", "format": "uri", "description": "The reply's Note id (replies only)" }
        }
    })
}

/// The request and response bodies.
fn schemas() -> Value {
    let mut all = content_schemas();
    // Two macro calls: one would exceed serde_json's macro recursion limit.
    if let (Some(all), Value::Object(more)) = (all.as_object_mut(), delivery_schemas()) {
        all.extend(more);
    }
    merge(merge(all, safety_schemas()), network_schemas())
}

/// The delivery queue report (`GET /api/deliveries`).
fn delivery_schemas() -> Value {
    json!({
        "HostDeliveryStats": {
            "type": "object",
            "required": ["host", "pending", "retrying", "delivered", "given_up", "unavailable", "consecutive_failures",
                         "circuit_open_until", "failing_since", "last_success_at", "last_failure_at", "last_error"],
            "properties": {
                "host": { "type": "string", "description": "`host[:port]` of the inboxes, lower case", "examples": ["mastodon.social", "localhost:8001"] },
                "pending": { "type": "integer", "description": "Deliveries waiting for their first attempt" },
                "retrying": { "type": "integer", "description": "Deliveries that failed at least once, with a retry scheduled" },
                "delivered": { "type": "integer", "description": "Delivered, until purged 7 days later" },
                "given_up": { "type": "integer", "description": "Refused by the host, out of retries, or skipped; purged 7 days later" },
                "unavailable": { "type": "boolean", "description": "Failing for 7 days without a success: its deliveries are given up until it speaks to us again" },
                "consecutive_failures": { "type": "integer", "description": "The failure streak; any answer from the host ends it" },
                "circuit_open_until": { "type": ["string", "null"], "format": "date-time", "description": "While set, this host's deliveries wait (after 5 failures in a row)" },
                "failing_since": { "type": ["string", "null"], "format": "date-time" },
                "last_success_at": { "type": ["string", "null"], "format": "date-time" },
                "last_failure_at": { "type": ["string", "null"], "format": "date-time" },
                "last_error": { "type": ["string", "null"], "examples": ["HTTP 503", "connection refused"] }
            }
        },
        "DeliveryTotals": {
            "type": "object",
            "required": ["hosts", "pending", "retrying", "delivered", "given_up", "unavailable_hosts", "open_circuits"],
            "properties": {
                "hosts": { "type": "integer" },
                "pending": { "type": "integer" },
                "retrying": { "type": "integer" },
                "delivered": { "type": "integer" },
                "given_up": { "type": "integer" },
                "unavailable_hosts": { "type": "integer" },
                "open_circuits": { "type": "integer" }
            }
        },
        "DeliveryReport": {
            "type": "object", "required": ["hosts", "totals"],
            "properties": {
                "hosts": { "type": "array", "items": schema("HostDeliveryStats") },
                "totals": schema("DeliveryTotals")
            }
        }
    })
}

/// Articles, authors, media, the organisation and errors.
fn content_schemas() -> Value {
    json!({
                "Error": {
                    "type": "object", "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object", "required": ["code", "message"],
                            "properties": {
                                "code": { "type": "string", "examples": ["required", "invalid", "unknown_language", "conflict", "stale_version", "invalid_json", "too_large", "unsupported_media_type", "unauthorized", "not_found"] },
                                "message": { "type": "string" },
                                "field": { "type": "string", "description": "Dotted path of the first offending field", "examples": ["title", "translations.en.body", "cover.alt", "file"] },
                                "details": { "type": "array", "items": schema("FieldError") }
                            }
                        }
                    }
                },
                "FieldError": {
                    "type": "object", "required": ["field", "code", "message_code", "message"],
                    "properties": {
                        "field": { "type": "string" },
                        "code": { "type": "string" },
                        "message_code": {
                            "type": "string",
                            "description": "Stable name of the message (e.g. title_required, slug_taken), for translating it; `message` is English",
                        },
                        "params": {
                            "type": "object", "additionalProperties": { "type": "string" },
                            "description": "Values the message names, e.g. {\"max\": \"300\"}",
                        },
                        "message": { "type": "string" },
                        "line": { "type": "integer", "minimum": 1 }
                    }
                },
                "ArticleKind": { "type": "string", "enum": ["news", "interview"] },
                "ArticleStatus": { "type": "string", "enum": ["draft", "scheduled", "published", "deleted"] },
                "Language": { "type": "string", "description": "BCP 47 tag: ISO 639-1 language, optional script and region", "examples": ["fr", "pt-BR"] },
                "Translation": {
                    "type": "object", "required": ["language", "title", "summary", "body_markdown", "body_html"],
                    "properties": {
                        "language": schema("Language"),
                        "title": { "type": "string" },
                        "summary": { "type": "string", "description": "The standfirst" },
                        "body_markdown": { "type": "string" },
                        "body_html": { "type": "string", "description": "Sanitised HTML rendered from body_markdown" }
                    }
                },
                "Cover": {
                    "type": "object", "required": ["media_id", "alt"],
                    "properties": { "media_id": { "type": "string" }, "alt": { "type": "string" } }
                },
                "Interviewee": {
                    "type": "object", "required": ["name"],
                    "properties": {
                        "name": { "type": "string" },
                        "role": { "type": "string" },
                        "organisation": { "type": "string" },
                        "bio": { "type": "string" },
                        "photo": { "type": ["string", "null"], "description": "Media id" },
                        "fediverse_handle": { "type": ["string", "null"], "examples": ["@name@example.org"] },
                        "translations": {
                            "type": "array", "items": schema("IntervieweeText"),
                            "description": "Role and bio in the article's other languages (`role` and `bio` are the default language's); a translation's `interviewee_role` and `interviewee_bio` set them too"
                        }
                    }
                },
                "IntervieweeText": {
                    "type": "object", "required": ["language"],
                    "properties": {
                        "language": { "type": "string", "description": "One of the article's languages", "examples": ["en"] },
                        "role": { "type": "string" },
                        "bio": { "type": "string" }
                    }
                },
                "Article": {
                    "type": "object",
                    "required": ["id", "slug", "kind", "status", "default_language", "translations", "tags", "author_id",
                                 "cover", "interviewee", "published_at", "created_at", "updated_at", "version", "url"],
                    "properties": {
                        "id": { "type": "string" },
                        "slug": { "type": "string" },
                        "kind": schema("ArticleKind"),
                        "status": schema("ArticleStatus"),
                        "default_language": schema("Language"),
                        "translations": { "type": "array", "items": schema("Translation"), "description": "The default language first" },
                        "tags": { "type": "array", "items": { "type": "string" } },
                        "author_id": { "type": "string" },
                        "cover": { "oneOf": [schema("Cover"), { "type": "null" }] },
                        "interviewee": { "oneOf": [schema("Interviewee"), { "type": "null" }] },
                        "published_at": { "type": ["string", "null"], "format": "date-time" },
                        "created_at": { "type": "string", "format": "date-time" },
                        "updated_at": { "type": "string", "format": "date-time" },
                        "version": { "type": "integer", "minimum": 1, "description": "Incremented on every write" },
                        "url": { "type": "string", "format": "uri", "description": "The public HTML page" }
                    }
                },
                "TranslationInput": {
                    "type": "object", "required": ["language", "title"],
                    "properties": {
                        "language": { "type": "string", "examples": ["fr"] },
                        "title": { "type": "string", "maxLength": 300 },
                        "summary": { "type": "string", "maxLength": 2000 },
                        "body": { "type": "string", "description": "Markdown; `<script>`, `javascript:` links and images without alt text are refused" },
                        "interviewee_role": { "type": ["string", "null"], "description": "Interviews: the interviewee's role in this language" },
                        "interviewee_bio": { "type": ["string", "null"], "description": "Interviews: the interviewee's bio in this language" }
                    }
                },
                "CoverInput": {
                    "type": "object", "required": ["media_id", "alt"],
                    "properties": { "media_id": { "type": "string" }, "alt": { "type": "string", "minLength": 1 } }
                },
                "ArticleInput": {
                    "type": "object", "required": ["kind", "language", "translations", "author"],
                    "properties": {
                        "slug": { "type": ["string", "null"], "description": "Made from the title when absent" },
                        "kind": schema("ArticleKind"),
                        "status": { "type": ["string", "null"], "enum": ["draft", "scheduled", "published", null] },
                        "language": { "type": "string", "description": "The default language; its translation must be present" },
                        "translations": { "type": "array", "items": schema("TranslationInput"), "minItems": 1 },
                        "tags": { "type": "array", "items": { "type": "string" }, "maxItems": 30 },
                        "author": { "type": "string", "description": "Author id or username" },
                        "cover": { "oneOf": [schema("CoverInput"), { "type": "null" }] },
                        "interviewee": { "oneOf": [schema("Interviewee"), { "type": "null" }], "description": "Required for interviews only" },
                        "publish_at": { "type": ["string", "null"], "description": "RFC 3339; required when scheduled" }
                    }
                },
                "ArticleList": {
                    "type": "object", "required": ["items", "total", "page", "per_page"],
                    "properties": {
                        "items": { "type": "array", "items": schema("Article") },
                        "total": { "type": "integer" },
                        "page": { "type": "integer" },
                        "per_page": { "type": "integer" }
                    }
                },
                "Author": {
                    "type": "object", "required": ["id", "username", "name", "bio", "avatar", "fediverse_handle", "created_at", "updated_at", "url"],
                    "properties": {
                        "id": { "type": "string" },
                        "username": { "type": "string" },
                        "name": { "type": "string" },
                        "bio": { "type": "string" },
                        "avatar": { "type": ["string", "null"], "description": "Media id" },
                        "fediverse_handle": { "type": ["string", "null"] },
                        "created_at": { "type": "string", "format": "date-time" },
                        "updated_at": { "type": "string", "format": "date-time" },
                        "url": { "type": "string", "format": "uri", "description": "The author's public page" }
                    }
                },
                "AuthorInput": {
                    "type": "object", "required": ["username", "name"],
                    "properties": {
                        "username": { "type": "string", "pattern": "^[A-Za-z0-9_]{1,64}$" },
                        "name": { "type": "string" },
                        "bio": { "type": "string" },
                        "avatar": { "type": ["string", "null"], "description": "Media id" },
                        "fediverse_handle": { "type": ["string", "null"] }
                    }
                },
                "AuthorList": {
                    "type": "object", "required": ["items"],
                    "properties": { "items": { "type": "array", "items": schema("Author") } }
                },
                "Media": {
                    "type": "object", "required": ["id", "content_type", "width", "height", "size", "alt", "sha256", "created_at", "url"],
                    "properties": {
                        "id": { "type": "string" },
                        "content_type": { "type": "string", "enum": ["image/jpeg", "image/png", "image/gif", "image/webp"] },
                        "width": { "type": "integer" },
                        "height": { "type": "integer" },
                        "size": { "type": "integer", "description": "Bytes" },
                        "alt": { "type": "string" },
                        "sha256": { "type": "string", "description": "Hex SHA-256 of the bytes; the ETag" },
                        "created_at": { "type": "string", "format": "date-time" },
                        "url": { "type": "string", "format": "uri", "description": "Where the bytes are served" }
                    }
                },
                "MediaUpload": {
                    "type": "object", "required": ["file", "alt"],
                    "properties": {
                        "file": { "type": "string", "contentMediaType": "application/octet-stream", "description": "The image" },
                        "alt": { "type": "string", "minLength": 1, "maxLength": 1500, "description": "Describes the image for people who cannot see it" }
                    }
                },
                "MediaList": {
                    "type": "object", "required": ["items", "page", "per_page"],
                    "properties": {
                        "items": { "type": "array", "items": schema("Media") },
                        "page": { "type": "integer" },
                        "per_page": { "type": "integer" }
                    }
                },
                "LegalForm": { "type": "string", "enum": ["cooperative", "mutual", "association", "foundation", "social_enterprise", "other"] },
                "Organisation": {
                    "type": "object",
                    "required": ["username", "name", "description", "logo", "website", "country", "legal_form", "sectors", "languages", "updated_at", "url"],
                    "properties": {
                        "username": { "type": "string" },
                        "name": { "type": "string" },
                        "description": { "type": "string" },
                        "logo": { "type": ["string", "null"], "description": "Media id" },
                        "website": { "type": ["string", "null"], "format": "uri" },
                        "country": { "type": "string", "description": "ISO 3166-1 alpha-2", "examples": ["FR"] },
                        "legal_form": schema("LegalForm"),
                        "sectors": { "type": "array", "items": { "type": "string" } },
                        "languages": { "type": "array", "items": schema("Language") },
                        "updated_at": { "type": "string", "format": "date-time" },
                        "url": { "type": "string", "format": "uri", "description": "The instance's home page" }
                    }
                },
                "OrganisationInput": {
                    "type": "object", "required": ["name", "country", "legal_form"],
                    "properties": {
                        "username": { "type": "string", "description": "Defaults to the current one; required the first time" },
                        "name": { "type": "string" },
                        "description": { "type": "string" },
                        "logo": { "type": ["string", "null"], "description": "Media id" },
                        "website": { "type": ["string", "null"], "format": "uri" },
                        "country": { "type": "string", "examples": ["FR"] },
                        "legal_form": schema("LegalForm"),
                        "sectors": { "type": "array", "items": { "type": "string" } },
                        "languages": { "type": "array", "items": { "type": "string" }, "description": "Defaults to the instance's language" }
                    }
                }
    })
}

/// Domain and actor blocks, and the allowlist.
fn safety_paths() -> Value {
    json!({
        "/api/blocks": {
            "get": {
                "operationId": "listBlocks", "tags": ["safety"], "summary": "Blocked domains and actors (what `gazette blocks` lists)",
                "responses": { "200": json_body("Blocked domains and actors", schema("BlockList")), "401": response("Unauthorized") }
            },
            "post": {
                "operationId": "createBlock", "tags": ["safety"],
                "summary": "Block a domain (and its subdomains: no delivery, inbox refused with 403, fetches refused, its remote actors \
                    with their follows, likes, replies and articles purged, unsent deliveries to it dropped) or an actor \
                    (refused, and forgotten with what it did here). Blocking again only changes the reason",
                "requestBody": { "required": true, "content": { "application/json": { "schema": schema("BlockInput") } } },
                "responses": {
                    "201": json_body("The block as stored", schema("BlockCreated")),
                    "400": response("BadRequest"),
                    "401": response("Unauthorized"),
                    "415": response("UnsupportedMediaType"),
                    "422": response("ValidationFailed")
                }
            }
        },
        "/api/blocks/{kind}/{value}": {
            "delete": {
                "operationId": "deleteBlock", "tags": ["safety"], "summary": "Lift a block (purged content does not come back)",
                "parameters": [
                    { "name": "kind", "in": "path", "required": true, "schema": { "type": "string", "enum": ["domain", "actor"] } },
                    { "name": "value", "in": "path", "required": true, "description": "The domain, or the actor id (percent-encoded) or `@name@host`",
                      "schema": { "type": "string" } }
                ],
                "responses": {
                    "204": { "description": "Unblocked" },
                    "401": response("Unauthorized"),
                    "404": response("NotFound"),
                    "422": response("ValidationFailed")
                }
            }
        },
        "/api/allowlist": {
            "get": {
                "operationId": "listAllowlist", "tags": ["safety"],
                "summary": "The domains an instance with `federation.mode = \"allowlist\"` federates with, and the mode",
                "responses": { "200": json_body("The allowlist", schema("Allowlist")), "401": response("Unauthorized") }
            },
            "post": {
                "operationId": "createAllow", "tags": ["safety"], "summary": "Put a domain (and its subdomains) on the allowlist",
                "requestBody": { "required": true, "content": { "application/json": { "schema": {
                    "type": "object", "required": ["domain"], "properties": { "domain": { "type": "string", "examples": ["friends.example", "localhost:8001"] } }
                } } } },
                "responses": {
                    "201": json_body("The entry as stored", schema("DomainAllow")),
                    "400": response("BadRequest"),
                    "401": response("Unauthorized"),
                    "415": response("UnsupportedMediaType"),
                    "422": response("ValidationFailed")
                }
            }
        },
        "/api/allowlist/{domain}": {
            "delete": {
                "operationId": "deleteAllow", "tags": ["safety"], "summary": "Take a domain off the allowlist",
                "parameters": [{ "name": "domain", "in": "path", "required": true, "schema": { "type": "string" } }],
                "responses": { "204": { "description": "Removed" }, "401": response("Unauthorized"), "404": response("NotFound"), "422": response("ValidationFailed") }
            }
        }
    })
}

/// The bodies of the block and allowlist endpoints.
fn safety_schemas() -> Value {
    json!({
        "DomainBlock": {
            "type": "object", "required": ["domain", "reason", "created_at"],
            "properties": {
                "domain": { "type": "string", "description": "Lower case; covers subdomains; with a port, that port only", "examples": ["spam.example", "localhost:8001"] },
                "reason": { "type": "string" },
                "created_at": { "type": "string", "format": "date-time" }
            }
        },
        "ActorBlock": {
            "type": "object", "required": ["actor_id", "reason", "created_at"],
            "properties": {
                "actor_id": { "type": "string", "format": "uri" },
                "reason": { "type": "string" },
                "created_at": { "type": "string", "format": "date-time" }
            }
        },
        "BlockList": {
            "type": "object", "required": ["domains", "actors"],
            "properties": {
                "domains": { "type": "array", "items": schema("DomainBlock") },
                "actors": { "type": "array", "items": schema("ActorBlock") }
            }
        },
        "BlockInput": {
            "type": "object", "required": ["kind", "value"],
            "properties": {
                "kind": { "type": "string", "enum": ["domain", "actor"] },
                "value": { "type": "string", "description": "A domain (`example.org`, a URL is cut to its host), or an actor id or `@name@host`" },
                "reason": { "type": "string", "default": "" }
            }
        },
        "PurgeReport": {
            "type": "object", "required": ["actors", "deliveries"],
            "properties": {
                "actors": { "type": "integer", "description": "Remote actors deleted, with their follows, likes, boosts, replies and articles" },
                "deliveries": { "type": "integer", "description": "Unsent deliveries to the domain dropped" }
            }
        },
        "BlockCreated": {
            "type": "object", "required": ["kind", "value", "reason", "created_at"],
            "properties": {
                "kind": { "type": "string", "enum": ["domain", "actor"] },
                "value": { "type": "string", "description": "The normalised domain, or the actor id" },
                "reason": { "type": "string" },
                "created_at": { "type": "string", "format": "date-time" },
                "purged": schema("PurgeReport")
            }
        },
        "DomainAllow": {
            "type": "object", "required": ["domain", "created_at"],
            "properties": {
                "domain": { "type": "string" },
                "created_at": { "type": "string", "format": "date-time" }
            }
        },
        "Allowlist": {
            "type": "object", "required": ["mode", "domains"],
            "properties": {
                "mode": { "type": "string", "enum": ["open", "allowlist"], "description": "`open`: the list is not in force" },
                "domains": { "type": "array", "items": schema("DomainAllow") }
            }
        }
    })
}

/// The network coordinator: members, invitations, moderation of the shared
/// feed. Each answers 404 on an instance that is not a coordinator.
fn network_paths() -> Value {
    let not_coordinator = "No such member or item, or this instance is not a network coordinator (`not_found`)";
    let decide = json!({
        "post": {
            "operationId": "decideMember", "tags": ["network"],
            "summary": "Approve (the network actor follows the member and reads its outbox), reject a request, suspend a \
                member (its articles hidden, kept), remove it (likewise, and no longer followed) or retry a stuck approved \
                member (a fresh follow unless accepted, the backfill at once unless done)",
            "parameters": [
                { "name": "member", "in": "path", "required": true, "description": "`name@host` or the actor id (percent-encoded)",
                  "schema": { "type": "string" } },
                { "name": "action", "in": "path", "required": true,
                  "schema": { "type": "string", "enum": ["approve", "reject", "suspend", "remove", "retry"] } }
            ],
            "responses": {
                "200": json_body("The member as it now stands", schema("NetworkMember")),
                "401": response("Unauthorized"),
                "404": { "description": not_coordinator, "content": { "application/json": { "schema": schema("Error") } } },
                "409": { "description": "The member's status does not allow it (`wrong_state`; the message names the status, \
                    e.g. only a requested member can be rejected; a member retried that is not stuck)", "content": { "application/json": { "schema": schema("Error") } } }
            }
        }
    });
    let item_action = |op: &str, summary: &str| {
        json!({
            "post": {
                "operationId": op, "tags": ["network"], "summary": summary,
                "requestBody": { "required": true, "content": { "application/json": { "schema": {
                    "type": "object", "required": ["id"], "properties": { "id": { "type": "string", "format": "uri" } }
                } } } },
                "responses": {
                    "200": json_body("The item as it now stands", schema("NetworkItemState")),
                    "401": response("Unauthorized"),
                    "404": { "description": not_coordinator, "content": { "application/json": { "schema": schema("Error") } } },
                    "409": { "description": "Already hidden, or not hidden (`wrong_state`)", "content": { "application/json": { "schema": schema("Error") } } }
                }
            }
        })
    };
    json!({
        "/api/network/members": {
            "get": {
                "operationId": "listNetworkMembers", "tags": ["network"],
                "summary": "Members and candidates with their health, by name (what `gazette network members` lists)",
                "parameters": [{ "name": "status", "in": "query",
                    "schema": { "type": "string", "enum": ["requested", "approved", "suspended", "rejected", "removed", "left"] } }],
                "responses": {
                    "200": { "description": "Members", "content": { "application/json": { "schema": {
                        "type": "object", "properties": { "items": { "type": "array", "items": schema("MemberHealth") } }
                    } } } },
                    "401": response("Unauthorized"),
                    "404": { "description": not_coordinator, "content": { "application/json": { "schema": schema("Error") } } },
                    "422": response("ValidationFailed")
                }
            }
        },
        "/api/network/members/{member}/{action}": decide,
        "/api/network/invitations": {
            "post": {
                "operationId": "inviteNetworkMember", "tags": ["network"],
                "summary": "Invite an organisation: an approved member at once, followed by the network actor",
                "requestBody": { "required": true, "content": { "application/json": { "schema": {
                    "type": "object", "required": ["target"],
                    "properties": { "target": { "type": "string", "description": "`@name@host` or an actor URL" } }
                } } } },
                "responses": {
                    "201": json_body("The member", schema("NetworkMember")),
                    "401": response("Unauthorized"),
                    "404": { "description": not_coordinator, "content": { "application/json": { "schema": schema("Error") } } },
                    "409": { "description": "Already a member (approved or suspended: `wrong_state`)", "content": { "application/json": { "schema": schema("Error") } } },
                    "422": response("ValidationFailed")
                }
            }
        },
        "/api/network/items": {
            "get": {
                "operationId": "listNetworkItems", "tags": ["network"],
                "summary": "Shared feed items (not deleted at their origin), newest first, 50 a page",
                "parameters": [
                    { "name": "hidden", "in": "query", "description": "Only the hidden ones", "schema": { "type": "boolean" } },
                    param("Page")
                ],
                "responses": {
                    "200": { "description": "Items", "content": { "application/json": { "schema": {
                        "type": "object",
                        "properties": {
                            "items": { "type": "array", "items": schema("NetworkItemState") },
                            "total": { "type": "integer" }, "page": { "type": "integer" }, "per_page": { "type": "integer" }
                        }
                    } } } },
                    "401": response("Unauthorized"),
                    "404": { "description": not_coordinator, "content": { "application/json": { "schema": schema("Error") } } }
                }
            }
        },
        "/api/network/items/hide": item_action("hideNetworkItem", "Remove an item from the shared feed (kept) and undo the network actor's boost"),
        "/api/network/items/restore": item_action("restoreNetworkItem", "Show a hidden item again (announced anew, under a new id, if it had been)")
    })
}

fn network_schemas() -> Value {
    json!({
        "NetworkMember": {
            "type": "object",
            "properties": {
                "actor": { "type": "string", "format": "uri" },
                "host": { "type": "string" },
                "status": { "type": "string", "enum": ["requested", "approved", "suspended", "rejected", "removed", "left"] },
                "handle": { "type": "string", "description": "`name@host`" },
                "inbox": { "type": "string", "format": "uri" },
                "profile": { "type": "object", "description": "What it says about itself (`sse:` extension): name, url, country, legal_form, sectors, languages, logo" },
                "requested_at": { "type": "string", "format": "date-time" },
                "decided_at": { "type": ["string", "null"], "format": "date-time" },
                "last_activity_at": { "type": ["string", "null"], "format": "date-time" },
                "signature_failures": { "type": "integer" },
                "rate_limited": { "type": "integer", "description": "Activities refused with 429 (over the member's rate; retried by its server)" },
                "backfill": { "type": "object", "description": "Outbox backfill: state (pending, waiting, done, failed), next, pages, items, error, rerun, attempts (failed runs in a row), retry_at (when a failed run is tried again)" },
                "updated_at": { "type": "string", "format": "date-time" }
            }
        },
        "MemberHealth": {
            "type": "object",
            "properties": {
                "member": schema("NetworkMember"),
                "articles": { "type": "integer" },
                "deliveries_pending": { "type": "integer" },
                "deliveries_failing": { "type": "integer" },
                "followed": { "type": "string", "enum": ["accepted", "pending", "none"], "description": "The network actor's follow of the member" },
                "stuck": { "type": ["string", "null"],
                    "enum": ["follow_given_up", "follow_failing", "follow_unanswered", "not_followed", "backfill_failed", null],
                    "description": "Why an approved member is not fully in the network (`retry` gets it going again)" },
                "last_error": { "type": ["string", "null"], "description": "The last error behind `stuck`: of the follow's delivery, or of the backfill" }
            }
        },
        "NetworkItemState": {
            "type": "object",
            "properties": {
                "id": { "type": "string", "format": "uri" },
                "url": { "type": ["string", "null"] },
                "title": { "type": "string" },
                "published_at": { "type": "string", "format": "date-time" },
                "hidden": { "type": "boolean" },
                "announce_id": { "type": ["string", "null"] },
                "member": { "type": "string" },
                "member_name": { "type": "string" },
                "member_handle": { "type": "string" },
                "member_status": { "type": "string" }
            }
        }
    })
}
