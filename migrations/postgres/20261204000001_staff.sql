-- Staff accounts (Django's is_staff): djoser lets them see and change other users.
ALTER TABLE users ADD COLUMN staff BOOLEAN NOT NULL DEFAULT FALSE;
