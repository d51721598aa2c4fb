-- When each credential was last used, for the idle timeout (NULL: not since issue).
ALTER TABLE auth_tokens ADD COLUMN last_used_at BIGINT;
