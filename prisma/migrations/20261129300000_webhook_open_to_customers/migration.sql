-- AlterTable
-- Whether customers may register themselves on the webhook (registerWebhook). The column's
-- default is true so that existing webhooks, and those the previous release creates during a
-- rolling upgrade, stay open as they always were; the API creates new webhooks closed unless
-- openToCustomers: true is given. A constant default adds the column without rewriting the table.
ALTER TABLE "webhooks" ADD COLUMN "open_to_customers" BOOLEAN NOT NULL DEFAULT true;
