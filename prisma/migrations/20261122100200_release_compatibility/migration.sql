-- AlterTable
ALTER TABLE "releases" ADD COLUMN     "upgradable_from" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "version_component" TEXT NOT NULL DEFAULT 'rootfs';
