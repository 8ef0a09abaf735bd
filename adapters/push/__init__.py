"""Phone push notifications (APNs, FCM). For now, a sender that logs."""
