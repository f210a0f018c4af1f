-- Named settings admins keep beside the log, of several kinds (post-mortem templates, blame
-- rules of the post-mortem linter). The store keeps each value as text; the server checks it.
CREATE TABLE admin_settings (
    kind        TEXT   NOT NULL,
    name        TEXT   NOT NULL,
    value       TEXT   NOT NULL,
    updated_at  BIGINT NOT NULL,
    updated_by  TEXT   NOT NULL,
    PRIMARY KEY (kind, name)
);
