from django.db import models


class Row(models.Model):
    """The one table the INSERT view writes to."""

    title = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "yardstick_row"

    def __str__(self) -> str:
        return self.title
