-- AlterTable
ALTER TABLE "releases" ADD COLUMN     "status" TEXT NOT NULL DEFAULT 'ready',
ADD COLUMN     "status_reason" TEXT;

-- AlterTable
ALTER TABLE "campaigns" ADD COLUMN     "paused_by" TEXT,
ADD COLUMN     "status_reason" TEXT,
ADD COLUMN     "start_requested" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "approved_by" TEXT,
ADD COLUMN     "approved_at" TIMESTAMPTZ(3),
ADD COLUMN     "runtime" JSONB NOT NULL DEFAULT '{}';
