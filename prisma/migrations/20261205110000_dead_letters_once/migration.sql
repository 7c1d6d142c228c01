-- Dead letters stored once and truncated (issue 9, item 8): a broker that redelivers a bad message (the
-- bridge reconnected before acknowledging it) must not add a row per delivery, and a 100 MB payload must
-- not become 100 MB of database. fingerprint = sha256 of source and whole payload (unique; older rows have
-- none); payload keeps the first bytes only, payload_bytes the size that was sent.
ALTER TABLE "dead_letters" ADD COLUMN "fingerprint" TEXT;
ALTER TABLE "dead_letters" ADD COLUMN "payload_bytes" INTEGER;
CREATE UNIQUE INDEX "dead_letters_fingerprint_key" ON "dead_letters"("fingerprint");
