from django.contrib import admin

import audit


class AuditedAdmin(admin.ModelAdmin):
    """Every add, change and delete made in the Django admin lands in the audit trail."""

    def save_model(self, request, obj, form, change):
        before = audit.snapshot(type(obj).objects.get(pk=obj.pk)) if change else None
        super().save_model(request, obj, form, change)
        audit.record(
            actor=request.user,
            action=f"admin.{'change' if change else 'add'}",
            obj=obj,
            before=before,
            after=audit.snapshot(obj),
        )

    def delete_model(self, request, obj):
        before, label, pk = audit.snapshot(obj), obj._meta.label_lower, str(obj.pk)
        super().delete_model(request, obj)
        audit.record(
            actor=request.user,
            action="admin.delete",
            object_type=label,
            object_id=pk,
            before=before,
        )

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)

    def save_formset(self, request, form, formset, change):
        # Read "before" from the database: form validation already changed the instances.
        pks = [f.instance.pk for f in formset.initial_forms if f.instance.pk]
        before = {obj.pk: audit.snapshot(obj) for obj in formset.model.objects.filter(pk__in=pks)}
        deleted = [f.instance.pk for f in formset.deleted_forms if f.instance.pk]
        super().save_formset(request, form, formset, change)
        for inline in formset.new_objects:
            audit.record(
                actor=request.user, action="admin.add", obj=inline, after=audit.snapshot(inline)
            )
        for inline, _fields in formset.changed_objects:
            audit.record(
                actor=request.user,
                action="admin.change",
                obj=inline,
                before=before.get(inline.pk),
                after=audit.snapshot(inline),
            )
        for pk in deleted:
            audit.record(
                actor=request.user,
                action="admin.delete",
                object_type=formset.model._meta.label_lower,
                object_id=str(pk),
                before=before.get(pk),
            )
