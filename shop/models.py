"""Import every model so that ``db.metadata`` knows all tables (Alembic, tests, CLI)."""

from shop.addresses.models import Address  # noqa: F401
from shop.audit.models import AuditEntry  # noqa: F401
from shop.auth.models import ApiToken, LoginSession, PasswordResetToken, User  # noqa: F401
from shop.catalog.models import (  # noqa: F401
    Category,
    Product,
    ProductImport,
    ProductImportUpload,
    StockMovement,
)
from shop.jobs.models import OutboxMessage  # noqa: F401
from shop.orders.models import (  # noqa: F401
    Cart,
    CartItem,
    IdempotencyKey,
    Order,
    OrderEvent,
    OrderLine,
)
from shop.orders.sales_marks import SalesDayMark  # noqa: F401
from shop.payments.models import Payment, PaymentEvent, Refund  # noqa: F401
from shop.pricing.models import DiscountCode, DiscountRedemption, ShippingMethod, TaxRate  # noqa: F401
